export { dev } from '../local/dev.js'
