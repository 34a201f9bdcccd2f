/**
 * Connection lifecycle of one PubsubClient: one MQTT.js client at a time (replaced whole by
 * the watchdog), our own jittered reconnect loop, the connection generation that makes acks of
 * an older connection harmless, readiness waiters and the "checked before use" liveness test.
 */
import { ReasonCodes, connect as mqttConnect, type IStore, type MqttClient, type OnConnectCallback } from 'mqtt'
import { TimeoutError } from '../errors.js'
import { withTimeout } from '../timeout.js'
import type { ClientContext, Waiter } from './context.js'
import { ConnectError, classifyConnectionError, errorMessage } from './errors.js'
import { discardClient, dropQueuedInboundAcks, skipPacketIdCache } from './mqtt-internals.js'
import { applyConnectAuth } from './auth/apply.js'
import { connectOptions, type PublishPacket } from './mqtt-options.js'
import type { ConnectionState } from './types.js'

export type ConnackPacket = Parameters<OnConnectCallback>[0]

/** One MQTT.js client; replaced as a whole by the watchdog. */
export interface Conn {
  client: MqttClient
  serial: number
  /** When the broker last sent anything on this client (CONNACK, PUBACK, PINGRESP...). */
  lastInboundAt: number
  /** When an inbound PUBLISH last pushed MQTT.js's keepalive timeout back. */
  pingRescheduledAt: number
  /** The socket is corked until the end of this event-loop turn, gathering acks. */
  acksCorked?: boolean
  /** When the credential this connection was opened with runs out (auth providers that say so). */
  authExpiresAt?: number
}

/** What the other parts of the client do at the connection's turning points. */
export interface ConnectionHooks {
  /** MQTT.js's handleMessage for this connection (inbound.ts). */
  incoming(conn: Conn, packet: PublishPacket, cb: (err?: Error) => void): void
  /** CONNACK arrived: limits, and what a lost session means for the others. */
  connack(conn: Conn, connack: ConnackPacket): void
  /**
   * Resubscribes what the session lacks: how many filters, or undefined when one failed for
   * want of a connection (the connection is then renewed).
   */
  resubscribe(conn: Conn, gen: number): Promise<number | undefined>
  /** A connection generation ended (close or replacement): its deliveries no longer count. */
  generationEnded(): void
  /** `old` was discarded: its unsettled publishes fail. */
  replaced(old: Conn, reason: string): void
  state(state: ConnectionState): void
}

export class Connection {
  private _state: ConnectionState = 'idle'
  private _conn: Conn | undefined
  private connSerial = 0
  /** Connection generation: bumped on every close and client replacement. */
  private _gen = 0
  private _closed = false
  private lastError: Error | undefined

  private attempting = false
  private lastAttemptAt = 0
  private backoffAttempt = 0
  private backoffTimer: ReturnType<typeof setTimeout> | undefined
  private backoffDueAt = 0
  private watchdogTimer: ReturnType<typeof setTimeout> | undefined
  private renewalTimer: ReturnType<typeof setTimeout> | undefined
  /** CONNACK refusals of a computed credential in a row (retryAuthRefusal). */
  private authRefusals = 0
  private readonly readyWaiters = new Set<Waiter>()

  constructor(
    private readonly ctx: ClientContext,
    private readonly hooks: ConnectionHooks,
  ) {}

  get state(): ConnectionState {
    return this._state
  }

  get conn(): Conn | undefined {
    return this._conn
  }

  get gen(): number {
    return this._gen
  }

  get closed(): boolean {
    return this._closed
  }

  /** Resolves once connected and resubscribed, within `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<void> {
    if (this._closed) return Promise.reject(this.ctx.closedError())
    this.checkAlive()
    if (this._state === 'connected') return Promise.resolve()
    this.demand()
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer)
          this.readyWaiters.delete(waiter)
          resolve()
        },
        reject: (err) => {
          clearTimeout(timer)
          this.readyWaiters.delete(waiter)
          reject(err)
        },
      }
      const timer = setTimeout(() => {
        const err = new TimeoutError(`connect to ${this.ctx.url}`, timeoutMs)
        if (this.lastError) {
          err.message += ` (last error: ${this.lastError.message})`
          err.cause = this.lastError
        }
        waiter.reject(err)
      }, timeoutMs)
      this.readyWaiters.add(waiter)
    })
  }

  /**
   * "Checked before use". Pings go out on timers, so a connection that has heard nothing from
   * the broker for 1.5 × keepalive was frozen with its process (a Lambda between invocations)
   * or its event loop: the broker has dropped it (MQTT-3.1.2-24). Writing into it would only
   * find out after the publish timeout. Drop it now and reconnect.
   */
  checkAlive(): void {
    const conn = this._conn
    if (this._state !== 'connected' || !conn) return
    const keepaliveS = conn.client.keepalive
    if (!keepaliveS || conn.lastInboundAt === 0) return
    const silentMs = Date.now() - conn.lastInboundAt
    if (silentMs <= keepaliveS * 1500) return
    this.ctx.log.info('connection silent beyond 1.5 x keepalive (process frozen?); reconnecting', { ...this.ctx.fields(), silentMs })
    this.setState('reconnecting')
    this.armWatchdog() // in case the close never comes
    conn.client.stream?.destroy()
  }

  /** A caller needs the connection: start it, or cut a long backoff short (bounded rate). */
  demand(): void {
    if (this._closed) return
    if (!this._conn) {
      this._conn = this.createConn()
      this.setState('connecting')
      this.attempt()
      return
    }
    if (this.attempting || !this.backoffTimer) return
    const earliest = this.lastAttemptAt + this.ctx.opts.reconnectBaseMs
    const now = Date.now()
    if (now >= earliest) {
      this.attempt()
    } else if (this.backoffDueAt > earliest) {
      this.scheduleAttempt(earliest - now)
    }
  }

  /** Discards the MQTT.js client and connects a fresh one (the session is resumed). */
  replace(reason: string): void {
    this.disarmRenewal()
    const old = this._conn
    this.ctx.log.warn('replacing the MQTT client', { ...this.ctx.fields(), reason })
    this._gen++
    this.hooks.generationEnded()
    this.attempting = false
    if (old) {
      discardClient(old.client)
      this.hooks.replaced(old, reason)
    }
    this._conn = this.createConn(old?.client.incomingStore)
    this.attempt()
  }

  /** The resubscribe after a CONNACK succeeded: ready. */
  private ready(sessionPresent: boolean, resubscribed: number): void {
    this.attempting = false
    this.disarmWatchdog()
    this.backoffAttempt = 0
    this.lastError = undefined
    this.authRefusals = 0
    this.ctx.log.info('connected', { ...this.ctx.fields(), sessionPresent, resubscribed })
    if (this._conn) this.armRenewal(this._conn, this._conn.authExpiresAt)
    this.setState('connected')
    for (const w of [...this.readyWaiters]) w.resolve()
  }

  /** Graceful DISCONNECT bounded by closeTimeoutMs (end(false) may never return), then discard. */
  async close(): Promise<void> {
    this._closed = true
    this.disarmRenewal()
    clearTimeout(this.backoffTimer)
    this.backoffTimer = undefined
    this.disarmWatchdog()
    this.failReadyWaiters(this.ctx.closedError())
    this.setState('closed')
    const conn = this._conn
    if (!conn) return
    if (conn.client.connected) {
      await withTimeout(conn.client.endAsync(false), this.ctx.opts.closeTimeoutMs, 'graceful close').catch((err: unknown) =>
        this.ctx.log.debug('graceful close did not finish', { ...this.ctx.fields(), error: errorMessage(err) }),
      )
    }
    discardClient(conn.client)
  }

  // ---------------------------------------------------------------- MQTT.js events

  private createConn(incomingStore?: IStore): Conn {
    skipPacketIdCache()
    const client = mqttConnect(
      connectOptions(this.ctx.metadata, {
        maxUnacked: this.ctx.opts.maxUnacked,
        ...(incomingStore ? { incomingStore } : {}),
        warn: (message) => this.ctx.log.warn(message, this.ctx.fields()),
      }),
    )
    const conn: Conn = { client, serial: ++this.connSerial, lastInboundAt: 0, pingRescheduledAt: 0 }
    client.on('packetreceive', (packet) => {
      const now = Date.now()
      // MQTT.js counts only acks and PINGRESP as signs of life, so a subscriber that only
      // receives PUBLISHes (and acks them) runs into 'Keepalive timeout' under sustained load,
      // when its PINGRESP waits behind the backlog. A QoS 1/2 PUBLISH proves the broker alive
      // just as well, and the PUBACK it gets keeps the broker's side of the keepalive
      // satisfied, so no PINGREQ is needed (QoS 0 gets no ack: there the pings must go on).
      // At most once a second, so the hot path does not rebuild a timer per message.
      if (packet.cmd === 'publish' && packet.qos > 0 && now - conn.pingRescheduledAt > 1000) {
        conn.pingRescheduledAt = now
        client.reschedulePing()
      }
      conn.lastInboundAt = now
    })
    client.handleMessage = (packet, cb) => this.hooks.incoming(conn, packet, cb)
    client.on('connect', (connack) => this.onMqttConnect(conn, connack))
    client.on('close', () => this.onMqttClose(conn))
    // MQTT.js's own 'error' listener is a no-op: without this one, errors vanish.
    client.on('error', (err) => this.onMqttError(conn, err))
    client.on('disconnect', (packet) => {
      if (conn !== this._conn) return
      const code = packet.reasonCode ?? 0
      this.ctx.log.warn('broker sent DISCONNECT', { ...this.ctx.fields(), reasonCode: code, reason: ReasonCodes[code as keyof typeof ReasonCodes] })
    })
    return conn
  }

  private attempt(): void {
    clearTimeout(this.backoffTimer)
    this.backoffTimer = undefined
    if (this._closed || !this._conn) return
    const conn = this._conn
    // MQTT.js can latch with `disconnecting` set (reference §1.8): it would never connect again.
    if (conn.client.disconnecting || conn.client.connected) {
      this.replace('MQTT.js client is stuck (disconnecting/connected without a live session)')
      return
    }
    dropQueuedInboundAcks(conn.client)
    this.attempting = true
    this.lastAttemptAt = Date.now()
    this.armWatchdog()
    this.ctx.log.debug('connecting', { ...this.ctx.fields(), attempt: this.backoffAttempt })
    const auth = this.ctx.auth
    if (!auth) {
      this.connectNow(conn)
      return
    }
    // The credential expires, so every attempt gets a fresh one (presigned URL, token).
    auth.prepare().then(
      (prepared) => {
        if (conn !== this._conn || this._closed || !this.attempting) return
        applyConnectAuth(conn.client, prepared)
        if (prepared.expiresAt !== undefined) conn.authExpiresAt = prepared.expiresAt
        this.connectNow(conn)
      },
      (err: unknown) => {
        if (conn !== this._conn || this._closed) return
        this.attemptFailed(new ConnectError(this.ctx.url, `${auth.kind}: ${errorMessage(err)}`, { retriable: true, cause: err }))
      },
    )
  }

  private connectNow(conn: Conn): void {
    try {
      conn.client.connect()
    } catch (err) {
      this.attemptFailed(new ConnectError(this.ctx.url, errorMessage(err), { retriable: false, cause: err }))
    }
  }

  private attemptFailed(e: ConnectError): void {
    this.attempting = false
    this.disarmWatchdog()
    this.lastError = e
    if (!e.retriable) this.failReadyWaiters(e)
    this.ctx.reportError(e)
    this.scheduleReconnect()
  }

  private onMqttConnect(conn: Conn, connack: ConnackPacket): void {
    if (conn !== this._conn || this._closed) return
    const gen = this._gen
    const sessionPresent = connack.sessionPresent === true
    this.hooks.connack(conn, connack)
    this.hooks.resubscribe(conn, gen).then(
      (resubscribed) => {
        if (conn !== this._conn || gen !== this._gen || this._closed) return
        // A filter that could not be resubscribed for want of a connection: try a new one.
        if (resubscribed === undefined) conn.client.stream?.destroy()
        else this.ready(sessionPresent, resubscribed)
      },
      (err: unknown) => this.ctx.reportError(err instanceof Error ? err : new Error(String(err))),
    )
  }

  private onMqttClose(conn: Conn): void {
    if (conn !== this._conn) return
    this.disarmRenewal()
    this._gen++
    this.hooks.generationEnded()
    this.attempting = false
    this.disarmWatchdog()
    if (this._closed) return
    if (this._state === 'connected') {
      this.ctx.log.warn('connection lost', this.ctx.fields())
      this.setState('reconnecting')
    }
    this.scheduleReconnect()
    // Someone is waiting for the connection: no need to sit out the backoff (rate-limited).
    if (this.readyWaiters.size > 0) this.demand()
  }

  private onMqttError(conn: Conn, err: Error): void {
    if (conn !== this._conn || this._closed) {
      this.ctx.log.debug('error on a discarded connection', { ...this.ctx.fields(), error: err.message })
      return
    }
    const md = this.ctx.metadata
    const e = classifyConnectionError(err, { url: this.ctx.url, protocolVersion: md.protocolVersion, connectTimeout: md.connectTimeout })
    this.lastError = e
    if (e instanceof ConnectError && (e.reasonCode !== undefined || !e.retriable) && !this.retryAuthRefusal(e)) this.failReadyWaiters(e)
    this.ctx.reportError(e)
  }

  /**
   * A computed credential can be refused once for being stale (a token that expired in transit,
   * a role that just rotated): the next attempt computes a new one, so waiters wait for it. A
   * second refusal in a row is an answer, and they get it.
   */
  private retryAuthRefusal(e: ConnectError): boolean {
    if (!this.ctx.auth || e.reasonCode === undefined || !AUTH_REFUSALS.has(e.reasonCode)) return false
    this.authRefusals++
    return this.authRefusals < 2
  }

  // ---------------------------------------------------------------- credential renewal

  /**
   * A live connection renews its credential before it runs out (MQTT 5 re-authentication) when
   * the provider can; otherwise the broker ends the connection at expiry and the reconnect
   * prepares a fresh one. A failed renewal is tried again while time is left.
   */
  private armRenewal(conn: Conn, expiresAt: number | undefined): void {
    this.disarmRenewal()
    const auth = this.ctx.auth
    if (!auth?.reauthenticate || expiresAt === undefined) return
    const reauthenticate = auth.reauthenticate.bind(auth)
    this.renewalTimer = setTimeout(() => {
      this.renewalTimer = undefined
      if (conn !== this._conn || this._closed) return
      reauthenticate(conn.client).then(
        (renewed) => {
          if (conn !== this._conn || this._closed) return
          conn.authExpiresAt = renewed.expiresAt
          this.ctx.log.debug('credential renewed', { ...this.ctx.fields(), kind: auth.kind, expiresAt: renewed.expiresAt })
          this.armRenewal(conn, renewed.expiresAt)
        },
        (err: unknown) => {
          if (conn !== this._conn || this._closed) return
          this.ctx.log.warn('credential renewal failed; trying again while it lasts', { ...this.ctx.fields(), kind: auth.kind, error: errorMessage(err) })
          if (expiresAt - Date.now() > 2000) this.armRenewal(conn, expiresAt)
        },
      )
    }, renewalDelay(expiresAt - Date.now()))
    this.renewalTimer.unref?.()
  }

  private disarmRenewal(): void {
    clearTimeout(this.renewalTimer)
    this.renewalTimer = undefined
  }

  // ---------------------------------------------------------------- backoff and watchdog

  private scheduleReconnect(): void {
    if (this._closed || this.backoffTimer) return
    const { reconnectBaseMs, reconnectMaxMs } = this.ctx.opts
    const exp = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** Math.min(this.backoffAttempt, 30))
    this.backoffAttempt++
    // "Equal jitter": never zero, and instances that lost the broker together spread out.
    this.scheduleAttempt(exp / 2 + Math.random() * (exp / 2))
  }

  private scheduleAttempt(delayMs: number): void {
    clearTimeout(this.backoffTimer)
    this.backoffDueAt = Date.now() + delayMs
    this.ctx.log.debug('reconnect scheduled', { ...this.ctx.fields(), delayMs: Math.round(delayMs) })
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined
      this.attempt()
    }, delayMs)
  }

  /**
   * One attempt (TCP, TLS, CONNACK, store replay, resubscribe) must end in 'connected' or
   * 'close' within its bounds. If neither happens the MQTT.js client is wedged: replace it.
   */
  private armWatchdog(): void {
    this.disarmWatchdog()
    const md = this.ctx.metadata
    const ms = md.connectTimeout + md.publishTimeout + this.ctx.opts.watchdogGraceMs
    this.watchdogTimer = setTimeout(() => {
      this.watchdogTimer = undefined
      if (!this._closed && this._state !== 'connected') this.replace(`no connection after ${ms} ms`)
    }, ms)
  }

  private disarmWatchdog(): void {
    clearTimeout(this.watchdogTimer)
    this.watchdogTimer = undefined
  }

  failReadyWaiters(err: Error): void {
    for (const w of [...this.readyWaiters]) w.reject(err)
  }

  private setState(state: ConnectionState): void {
    if (this._state === state) return
    this._state = state
    this.hooks.state(state)
  }
}

/** When to renew a credential that lasts `remainingMs` more: at 80 % of it, or 5 minutes before its end if that is earlier; at least 1 s. */
export function renewalDelay(remainingMs: number): number {
  return Math.max(1000, Math.min(remainingMs * 0.8, remainingMs - 300_000))
}

/** CONNACK codes that refuse the credential: 3.1.1's 4 and 5; MQTT 5's 0x86, 0x87 and 0x8C. */
const AUTH_REFUSALS = new Set([4, 5, 0x86, 0x87, 0x8c])
