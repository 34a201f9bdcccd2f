/**
 * The pubsub conformance suite against RabbitMQ's MQTT plugin (a private node: its own ports,
 * config, Erlang cookie and data dir). It has no QoS 2 and no `$share`: the suite checks the
 * brokerProfile's answer to those instead.
 */
import { describeBrokerSuite } from '../pubsub/suite.js'
import { rabbitmqTarget } from '../pubsub/harness.js'

describeBrokerSuite(rabbitmqTarget())
