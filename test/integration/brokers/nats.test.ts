/**
 * The pubsub conformance suite against NATS' MQTT gateway (a private nats-server with
 * JetStream in a temp dir). It has no QoS 2 and no `$share`: the suite checks the
 * brokerProfile's answer to those instead.
 */
import { describeBrokerSuite } from '../pubsub/suite.js'
import { natsTarget } from '../pubsub/harness.js'

describeBrokerSuite(natsTarget())
