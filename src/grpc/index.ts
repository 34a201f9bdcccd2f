export { startGrpcServer, type GrpcServer, type GrpcServerOptions } from './server.js'
export { SERVED_METHODS } from './service.js'
