import { AUTH_FIELDS } from './auth-fields.js'
import type { FieldTable } from './field-table.js'

/**
 * `pubsub.mqtt` / `pubsub.mqtt3` metadata. Dapr fields follow components-contrib
 * `pubsub/mqtt3/metadata.yaml`, but the defaults are the seed's (the older `pubsub.mqtt`
 * docs): qos 0, cleanSession true. Extensions are marked as such in their descriptions.
 */
export const MQTT_FIELDS: FieldTable = [
  {
    name: 'url',
    type: 'url',
    required: true,
    sensitive: true,
    group: 'dapr',
    description:
      'Broker address `scheme://[username][:password]@host[:port][/path]`. Schemes: `mqtt`/`tcp` (port 1883), ' +
      '`mqtts`/`tcps`/`ssl`/`tls` (TLS, port 8883), `ws` (80) and `wss` (443). Unlike daprd, the path of a ' +
      'WebSocket URL is kept (default `/`), and so is its query string (a presigned URL; never logged); over TCP a query string is ignored. Username and password come from the ' +
      'userinfo, percent-decoded; the password is used only when non-empty.',
    example: 'mqtt://localhost:1883',
  },
  {
    name: 'consumerID',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'dapr',
    description:
      'MQTT client id, used verbatim. Template tags: `{uuid}` (a new random UUID), `{podName}` (env `POD_NAME`, ' +
      'else `HOSTNAME`, else the host name), `{appID}` (the app id), `{namespace}` (`<NAMESPACE or default>.<app id>`, ' +
      'as daprd expands it). When absent, an id unique to the process is generated (`mqttfn-<app id>-<8 hex>`, ' +
      'at most 23 characters) so two function instances never share one; set it to keep a persistent session.',
    example: '{appID}-local',
  },
  {
    name: 'qos',
    type: 'number',
    default: '0',
    required: false,
    sensitive: false,
    allowed: ['0', '1', '2'],
    group: 'dapr',
    description: 'QoS of every PUBLISH and SUBSCRIBE. Default 0 as in the seed (today\'s daprd defaults to 1).',
    example: '1',
  },
  {
    name: 'retain',
    type: 'bool',
    default: 'false',
    required: false,
    sensitive: false,
    group: 'dapr',
    description: 'Default retain flag of a PUBLISH; a publish request can override it with `metadata.retain`.',
    example: 'false',
  },
  {
    name: 'cleanSession',
    type: 'bool',
    default: 'true',
    required: false,
    sensitive: false,
    group: 'dapr',
    description:
      'MQTT clean session (clean start on MQTT 5). Default true as in the seed (today\'s daprd defaults to false). ' +
      'A persistent session (false) needs a configured `consumerID`.',
    example: 'false',
  },
  {
    name: 'caCert',
    type: 'pem',
    required: false,
    sensitive: false,
    group: 'dapr',
    description: 'PEM CA certificate(s) the broker certificate must chain to; default: the system roots.',
  },
  {
    name: 'clientCert',
    type: 'pem',
    required: false,
    sensitive: false,
    group: 'dapr',
    description: 'PEM client certificate for mutual TLS; needs `clientKey`.',
  },
  {
    name: 'clientKey',
    type: 'pem',
    required: false,
    sensitive: true,
    group: 'dapr',
    description: 'PEM private key (PKCS#8, RSA or EC, unencrypted) of `clientCert`; needs `clientCert`. Use a `secretKeyRef`.',
  },
  ...AUTH_FIELDS,
  {
    name: 'protocolVersion',
    type: 'number',
    default: '4',
    required: false,
    sensitive: false,
    allowed: ['4', '5'],
    group: 'extension',
    description: 'Extension: MQTT protocol level, 4 (MQTT 3.1.1, what daprd speaks) or 5.',
    example: '4',
  },
  {
    name: 'connectTimeout',
    type: 'number',
    default: '5000',
    required: false,
    sensitive: false,
    min: 1,
    group: 'extension',
    description: 'Extension: milliseconds to wait for CONNACK (daprd waits 20 s; a function cannot).',
    example: '5000',
  },
  {
    name: 'keepAlive',
    type: 'number',
    default: '30',
    required: false,
    sensitive: false,
    min: 0,
    max: 65535,
    group: 'extension',
    description: 'Extension: keep-alive in seconds, 0 disables it. Default 30 as daprd (paho) uses.',
    example: '30',
  },
  {
    name: 'sessionExpiryInterval',
    type: 'number',
    required: false,
    sensitive: false,
    min: 0,
    max: 4294967295,
    group: 'extension',
    description:
      'Extension, MQTT 5 only: seconds the broker keeps the session after a disconnect. MQTT 5 ends the ' +
      'session at disconnect unless this is set, so a persistent session (`cleanSession: false`) needs it.',
    example: '3600',
  },
  {
    name: 'sessionLedgerTopic',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'extension',
    description:
      'Extension, forwarder with a persistent session: topic of the retained message in which the forwarder ' +
      'records the filters its session holds, so that a filter no Subscription wants any more is unsubscribed ' +
      'at the next start (MQTT cannot list a session\'s subscriptions). Default `mqtt-fn/sessions/<consumerID>` ' +
      '(a consumerID with characters other than letters, digits, `-` and `_` is hashed); `none` turns it off, ' +
      'for brokers whose ACLs refuse the topic (AWS IoT Core closes the connection on a refused publish).',
    example: 'mqtt-fn/sessions/orders-forwarder',
  },
  {
    name: 'contentMode',
    type: 'string',
    default: 'structured',
    required: false,
    sensitive: false,
    group: 'extension',
    description:
      'Extension, MQTT 5 only: CloudEvents MQTT binding content mode. `structured` (the whole event as JSON in ' +
      'the payload, what daprd sends) or `binary` (the payload is the data, the attributes are user properties, ' +
      '`datacontenttype` is the Content Type): publishes are sent that way and subscriptions read them that way ' +
      '(a Subscription\'s `metadata.contentMode` overrides it for reading).',
    example: 'structured',
  },
  {
    name: 'publishTimeout',
    type: 'number',
    default: '5000',
    required: false,
    sensitive: false,
    min: 1,
    group: 'extension',
    description: 'Extension: milliseconds to wait for a PUBACK / SUBACK before the operation fails (daprd: 20 s).',
    example: '5000',
  },
  {
    name: 'maxInflight',
    type: 'number',
    default: '100',
    required: false,
    sensitive: false,
    min: 1,
    max: 65535,
    group: 'extension',
    description: 'Extension: most QoS 1/2 publishes awaiting their acknowledgement at once.',
    example: '100',
  },
  {
    name: 'brokerProfile',
    type: 'string',
    default: 'generic',
    required: false,
    sensitive: false,
    group: 'extension',
    description:
      'Extension: which broker this is, for the limits mqtt-fn cannot detect on the wire (README "Brokers"): ' +
      '`generic`, `mosquitto`, `rabbitmq`, `nats`, `aws-iot` or `event-grid`. With `rabbitmq` or `nats`: a ' +
      '`$share/...` subscription is refused (both accept it and deliver nothing), `qos` 2 is degraded to 1 with a ' +
      'warning, a topic filter the broker rewrites or refuses (`.`; `*` on RabbitMQ) is refused at start, and with ' +
      '`nats` a publish topic with `.` or a space is answered 400 instead of the broker dropping the connection.',
    example: 'generic',
  },
  {
    name: 'allowedTopics',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'runtime',
    description: 'Dapr runtime: comma list of the only topics that may be used (`t1,t2`).',
    example: 'orders,orders/#',
  },
  {
    name: 'protectedTopics',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'runtime',
    description: 'Dapr runtime: comma list of topics only apps named in the scopes may use.',
    example: 'payments',
  },
  {
    name: 'publishingScopes',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'runtime',
    description: 'Dapr runtime: topics each app may publish to, `app1=t1,t2;app2=t3`.',
    example: 'app=orders',
  },
  {
    name: 'subscriptionScopes',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'runtime',
    description: 'Dapr runtime: topics each app may subscribe to, `app1=t1,t2;app2=t3`.',
    example: 'app=orders',
  },
  {
    name: 'backOffMaxRetries',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'ignored',
    ignoredBecause: 'not supported by pubsub.mqtt3; ignored',
    description: 'Old Dapr key, accepted and ignored with a warning.',
  },
  {
    name: 'producerID',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'ignored',
    ignoredBecause: 'not supported by pubsub.mqtt3; ignored (one connection with client id consumerID)',
    description: 'Old Dapr key, accepted and ignored with a warning: one connection uses `consumerID`.',
  },
  {
    name: 'maxRetriableErrorsPerSec',
    type: 'string',
    required: false,
    sensitive: false,
    group: 'ignored',
    ignoredBecause: 'not supported by pubsub.mqtt3; ignored',
    description: 'Old Dapr key, accepted and ignored with a warning.',
  },
]
