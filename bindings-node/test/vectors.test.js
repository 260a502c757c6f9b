'use strict'
// The shared vectors (tests/vectors/*.json) through the Node face: every face must reach the
// same outcome. Configs are snake_case in the files; they are given here in camelCase (the entries
// of `issuers` too), so the face's option mapping is under test too. A construction failure
// counts as kind "config".

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const { Validator, JwtGateError, InvalidTokenError, ConfigError } = require('..')
const { VECTORS, camelOptions } = require('./helpers')

// http.json holds HTTP answers, not token cases (they have no `token`): http-vectors.test.js.
const files = fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json') && f !== 'http.json').sort()

test('the vector files are there', () => {
  assert.ok(files.length >= 7, `expected the shared vectors in ${VECTORS}`)
})

for (const file of files) {
  const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8'))
  test(file, async (t) => {
    const validators = new Map()
    const build = (name) => {
      if (!validators.has(name)) {
        try {
          validators.set(name, new Validator(camelOptions(doc.configs[name])))
        } catch (e) {
          validators.set(name, e)
        }
      }
      return validators.get(name)
    }
    for (const c of doc.cases) {
      await t.test(c.name, async () => {
        const v = build(c.config)
        const outcomes = []
        if (v instanceof Error) {
          assert.ok(v instanceof ConfigError, `construction failed with ${v.name}: ${v.message}`)
          outcomes.push(['construct', v])
        } else {
          for (const [how, run] of [
            ['validateSync', () => v.validateSync(c.token)],
            ['validate', () => v.validate(c.token)],
          ]) {
            try {
              outcomes.push([how, await run()])
            } catch (e) {
              outcomes.push([how, e])
            }
          }
        }
        for (const [how, outcome] of outcomes) {
          if (c.expect.valid) {
            assert.ok(!(outcome instanceof Error), `${how}: rejected with ${outcome && outcome.kind}: ${outcome && outcome.message}`)
            assert.deepStrictEqual({ ...outcome }, c.expect.claims, `${how}: claims differ`)
          } else {
            assert.ok(outcome instanceof JwtGateError, `${how}: expected ${c.expect.error}, got ${outcome instanceof Error ? outcome.stack : 'claims'}`)
            assert.equal(outcome.kind, c.expect.error, `${how}: ${outcome.message}`)
            if (outcome.status === 401) assert.ok(outcome instanceof InvalidTokenError)
          }
        }
      })
    }
  })
}
