// The shared pubsub suite against aedes in this process (MQTT 3.1.1 only: aedes 1.x has no MQTT 5).
import { describeBrokerSuite } from './suite.js'
import { aedesTarget } from './harness.js'

describeBrokerSuite(aedesTarget())
