/**
 * What every broker the tests start privately (Mosquitto, RabbitMQ, NATS) gives them, and the
 * retry that makes a free-port pick safe when several test workers start brokers at once.
 */
export interface PrivateBroker {
  /** The MQTT port, on 127.0.0.1. */
  port: number
  host: string
  /** `mqtt://127.0.0.1:PORT` (or `mqtts://...`). */
  url: string
  configPath: string
  /** Temp dir: config and the broker's data (sessions, queued messages). */
  dir: string
  /** The broker's log so far. */
  logs(): string
  /** A clean shutdown, wait for exit, remove the temp dir (the sessions with it). */
  stop(): Promise<void>
  /** SIGKILL: nothing more is saved; the data dir stays for `restart()`. */
  kill(): Promise<void>
  /** Start again with the same config, ports and data dir. */
  restart(): Promise<void>
}

/** The port error of a broker whose free port was taken between the check and its bind. */
export const PORT_TAKEN = /eaddrinuse|address already in use/i

/**
 * `start()`, again (at most 3 times) when it failed because its free port was taken by another
 * test worker between the check and the bind; any other failure at once.
 */
export async function startWithPortRetry<T>(start: () => Promise<T>, canRetry = true): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start()
    } catch (err) {
      if (!canRetry || attempt >= 3 || !PORT_TAKEN.test(String(err))) throw err
    }
  }
}
