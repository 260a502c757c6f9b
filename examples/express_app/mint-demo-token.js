'use strict'
// Prints a demo token for the demo-mode server: node mint-demo-token.js [scope...] [--admin]
const { mintDemoToken } = require('./demo-keys')

const args = process.argv.slice(2)
const roles = args.includes('--admin') ? ['admin'] : []
const scopes = args.filter((a) => !a.startsWith('--'))
process.stdout.write(mintDemoToken({ scope: scopes.length ? scopes.join(' ') : 'read:items', roles }) + '\n')
