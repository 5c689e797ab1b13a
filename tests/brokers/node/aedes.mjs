// aedes on one loopback port, for the broker tests.
// Usage: node aedes.mjs MODULES_DIR PORT [DENY_SUBSCRIBE]
// MODULES_DIR is the node_modules folder scripts/setup filled. With
// DENY_SUBSCRIBE, a subscription to exactly that filter is refused (SUBACK 0x80),
// as an authorization hook of a real deployment would. Sessions live in
// memory (aedes' default persistence), so a restart forgets them, as it would
// for anyone running aedes without a persistence plugin.
import net from 'node:net'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [modules, portText, denied] = process.argv.slice(2)
const { Aedes } = await import(pathToFileURL(path.join(modules, 'aedes', 'aedes.js')).href)
const broker = await Aedes.createBroker({
  authorizeSubscribe (client, sub, callback) {
    if (denied && sub.topic === denied) {
      console.log(`refused subscription ${sub.topic} of ${client.id}`)
      return callback(null, null) // a negative SUBACK; an error would close the connection
    }
    callback(null, sub)
  }
})
const server = net.createServer(broker.handle)

broker.on('clientError', (client, err) => console.log(`client error ${client.id}: ${err.message}`))
broker.on('connectionError', (client, err) => console.log(`connection error: ${err.message}`))
broker.on('client', (client) => console.log(`client connected ${client.id}`))
broker.on('clientDisconnect', (client) => console.log(`client disconnected ${client.id}`))

server.listen(Number(portText), '127.0.0.1', () => console.log(`listening on ${portText}`))

function stop () {
  broker.close(() => server.close(() => process.exit(0)))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
