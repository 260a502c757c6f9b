'use strict'
// Hostile and mistaken inputs: a TypeError for what is not a string, an InvalidTokenError for
// every string that is not a valid token; never a crash, never a hang.

const { test } = require('node:test')
const assert = require('node:assert/strict')

const { Validator, InvalidTokenError } = require('..')
const { mintRs256, claims, staticOptions } = require('./helpers')

const v = new Validator(staticOptions())
const good = mintRs256(claims())

const notStrings = [undefined, null, 42, 1n, true, Symbol('t'), {}, [], () => good, Buffer.from(good), new String(good)]

test('non-strings are TypeErrors, from validateSync and as rejections from validate', async () => {
  for (const input of notStrings) {
    assert.throws(() => v.validateSync(input), TypeError)
    const p = v.validate(input)
    assert.ok(p instanceof Promise, 'validate never throws synchronously')
    await assert.rejects(p, TypeError)
  }
  assert.throws(() => v.validateSync(), TypeError)
})

const badStrings = {
  empty: '',
  space: ' ',
  'a Bearer header': `Bearer ${good}`,
  'two dots': '..',
  'four segments': `${good}.x`,
  '1 MiB': 'a'.repeat(1 << 20),
  '1 MiB of dots': '.'.repeat(1 << 20),
  'a token padded to 1 MiB': good + 'A'.repeat((1 << 20) - good.length),
  'lone high surrogate': `${good.slice(0, 20)}\uD800${good.slice(21)}`,
  'lone low surrogate': `\uDC00${good}`,
  'lone surrogate in the signature': `${good}\uD83D`,
  'NUL byte': `${good.slice(0, 10)}\u0000${good.slice(10)}`,
  'non-Latin-1': `${good.slice(0, 30)}\u0141${good.slice(31)}`,
  'emoji': `\u{1F600}.\u{1F600}.\u{1F600}`,
  'header only': good.split('.')[0],
}

test('bad strings are InvalidTokenErrors', async () => {
  for (const [name, input] of Object.entries(badStrings)) {
    assert.throws(() => v.validateSync(input), (e) => {
      assert.ok(e instanceof InvalidTokenError, `${name}: ${e && e.name}: ${e && e.message}`)
      assert.equal(e.status, 401)
      assert.ok(!e.message.includes(good), `${name}: the message echoes the token`)
      return true
    })
    await assert.rejects(v.validate(input), InvalidTokenError, name)
  }
})

test('a long token is refused by size before anything else', () => {
  assert.throws(() => v.validateSync('a'.repeat(1 << 20)), { kind: 'token_too_large' })
})

test('lone surrogates do not alias a valid token', () => {
  // U+D800 is not base64url: it must not be dropped or mapped onto a valid character.
  const withSurrogate = good.slice(0, 40) + '\uD800' + good.slice(40)
  assert.throws(() => v.validateSync(withSurrogate), InvalidTokenError)
  assert.equal(v.validateSync(good).sub, 'user-1')
})

test('the validator still works after all of that', async () => {
  assert.equal(v.validateSync(good).sub, 'user-1')
  assert.equal((await v.validate(good)).sub, 'user-1')
  assert.ok(v.stats().validationsFailed >= Object.keys(badStrings).length)
})
