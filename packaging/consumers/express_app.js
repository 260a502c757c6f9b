'use strict'
// The Node consumer check: an Express app protected by jwtgate's jwtAuth, as a user writes it
// after `npm install jwtgate express`. Config: camelCase JSON in $JWTGATE_CONFIG; prints the port.
const fs = require('node:fs')
const express = require('express')
const { Validator, version } = require('jwtgate')
const { jwtAuth } = require('jwtgate/express')

const validator = new Validator(JSON.parse(fs.readFileSync(process.env.JWTGATE_CONFIG, 'utf8')))
const app = express()
app.get('/items', jwtAuth({ validator }), (req, res) => res.json({ sub: req.auth.payload.sub, jwtgate: version }))
const server = app.listen(0, '127.0.0.1', () => console.log(`PORT=${server.address().port}`))
