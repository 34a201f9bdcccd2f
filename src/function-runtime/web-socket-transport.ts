// The chunk mqtt-ws.mjs beside a function bundle (scripts/build.mjs LAZY_CHUNKS): MQTT.js's
// WebSocket transport and the `ws` package, loaded by web-socket.ts.
export { browserStreamBuilder, streamBuilder } from 'mqtt/lib/connect/ws'
