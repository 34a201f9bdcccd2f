import type { FieldTable } from './field-table.js'

/**
 * Computed credentials for managed brokers (mqtt-fn extensions): part of MQTT_FIELDS, kept in a
 * file of their own because each method brings several settings. auth-metadata.ts reads them;
 * src/core/pubsub/auth/ turns them into a credential before every connect attempt.
 */
export const AUTH_METHODS = ['none', 'aws-sigv4', 'aws-iot-authorizer', 'oauth2-jwt'] as const

/** Event Grid's audience: what a Microsoft Entra token for its MQTT broker is asked for. */
export const EVENT_GRID_SCOPE = 'https://eventgrid.azure.net/.default'
export type AuthMethod = (typeof AUTH_METHODS)[number]

export const AUTH_FIELDS: FieldTable = [
  {
    name: 'authMethod',
    type: 'string',
    default: 'none',
    required: false,
    sensitive: false,
    group: 'extension',
    description:
      'Extension: a credential computed before every connect attempt. `aws-sigv4`: AWS IoT Core over ' +
      '`wss://<endpoint>/mqtt`, the URL presigned (SigV4, service `iotdevicegateway`) with the default AWS credential ' +
      'chain (the Lambda\'s or ECS task\'s role, `AWS_*` variables, profiles), signed afresh at every reconnect because ' +
      'those credentials expire. `aws-iot-authorizer`: an AWS IoT custom authorizer (`awsIotAuthorizerName` and the ' +
      'token fields); over TCP on 443 it sets ALPN `mqtt`, over WebSocket it puts them in the query string. `oauth2-jwt`: Azure Event Grid\'s MQTT broker with a ' +
      'Microsoft Entra token (MQTT 5 enhanced authentication, method `OAUTH2-JWT`) from `@azure/identity`\'s ' +
      '`DefaultAzureCredential` (managed identity, workload identity, environment, Azure CLI), renewed on the live ' +
      'connection with an AUTH packet before it expires; needs `protocolVersion: 5` and TLS. `none`: ' +
      'the URL\'s userinfo and the certificates, as before.',
    example: 'aws-sigv4',
  },
  {
    name: 'awsRegion',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'extension',
    description:
      'Extension: region of the SigV4 signature (`authMethod: aws-sigv4`). Default: the region in the IoT endpoint host ' +
      '(`<id>-ats.iot.<region>.amazonaws.com`), else `AWS_REGION` / `AWS_DEFAULT_REGION`.',
    example: 'eu-west-1',
  },
  {
    name: 'awsIotAuthorizerName',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'extension',
    description: 'Extension: the AWS IoT custom authorizer to invoke (`x-amz-customauthorizer-name`). Absent: the account\'s default authorizer.',
    example: 'mqtt-fn-authorizer',
  },
  {
    name: 'awsIotTokenKeyName',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'extension',
    description: 'Extension: name of the token parameter the custom authorizer reads (its `tokenKeyName`). Needed with `awsIotToken`.',
    example: 'token',
  },
  {
    name: 'awsIotToken',
    type: 'string',
    required: false,
    sensitive: true,
    group: 'extension',
    description: 'Extension: the token passed to the custom authorizer under `awsIotTokenKeyName`; use a `secretKeyRef`.',
    example: 'eyJhbGciOi...',
  },
  {
    name: 'awsIotTokenSignature',
    type: 'string',
    required: false,
    sensitive: true,
    group: 'extension',
    description:
      'Extension: signature of the token (`x-amz-customauthorizer-signature`) when the authorizer has signing enabled; use a `secretKeyRef`.',
    example: 'c2lnbmF0dXJl',
  },
  {
    name: 'oauth2Scope',
    type: 'string',
    default: EVENT_GRID_SCOPE,
    required: false,
    sensitive: false,
    group: 'extension',
    description: 'Extension: the scope the Microsoft Entra token is asked for (`authMethod: oauth2-jwt`); Event Grid\'s by default.',
    example: EVENT_GRID_SCOPE,
  },
  {
    name: 'azureClientId',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'extension',
    description:
      'Extension: client id of the user-assigned managed identity to use (`authMethod: oauth2-jwt`); default `AZURE_CLIENT_ID`, else the system-assigned identity.',
    example: '00000000-0000-0000-0000-000000000000',
  },
  {
    name: 'alpnProtocols',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'extension',
    description:
      'Extension: comma list of ALPN protocols for the TLS handshake: `x-amzn-mqtt-ca` for AWS IoT Core\'s ' +
      'MQTT with client certificates on port 443. TLS schemes only.',
    example: 'x-amzn-mqtt-ca',
  },
]
