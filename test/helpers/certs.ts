import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface Pem {
  /** PEM text. */
  pem: string
  /** File holding the same PEM. */
  path: string
}

export interface KeyPair {
  cert: Pem
  key: Pem
}

export interface TestCerts {
  dir: string
  ca: KeyPair
  /** Server certificate for `localhost` and `127.0.0.1` (subjectAltName), signed by `ca`. */
  server: KeyPair
  /** Client certificate (CN `clientCN`, extendedKeyUsage clientAuth), signed by `ca`. */
  client: KeyPair
  /** Removes `dir`. */
  cleanup(): Promise<void>
}

/**
 * A throw-away PKI made with the `openssl` command: a CA, a server and a client certificate,
 * EC P-256 keys (fast to make), valid one day. Call twice to get a second, unrelated CA for
 * "wrong CA" cases.
 */
export async function generateCerts(opts: { clientCN?: string } = {}): Promise<TestCerts> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-certs-'))
  const p = (name: string) => path.join(dir, name)
  const ossl = (...args: string[]) => run('openssl', args, { cwd: dir })
  const newKey = (name: string) =>
    ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', p(name))

  await newKey('ca.key')
  await ossl(
    'req', '-x509', '-new', '-key', p('ca.key'), '-out', p('ca.crt'), '-days', '1',
    '-subj', '/CN=mqtt-fn test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  )

  const sign = async (name: string, cn: string, ext: string) => {
    await newKey(`${name}.key`)
    await ossl('req', '-new', '-key', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`)
    await writeFile(p(`${name}.ext`), ext)
    await ossl(
      'x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'),
      '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '1', '-extfile', p(`${name}.ext`),
    )
  }
  await sign(
    'server',
    'localhost',
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '',
    ].join('\n'),
  )
  await sign(
    'client',
    opts.clientCN ?? 'mqtt-fn-test-client',
    ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth', ''].join('\n'),
  )

  const pem = async (name: string): Promise<Pem> => ({ pem: await readFile(p(name), 'utf8'), path: p(name) })
  const pair = async (name: string): Promise<KeyPair> => ({ cert: await pem(`${name}.crt`), key: await pem(`${name}.key`) })
  return {
    dir,
    ca: await pair('ca'),
    server: await pair('server'),
    client: await pair('client'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}
