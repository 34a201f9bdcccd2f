import { TopicError } from '../errors.js'
import { filterProblem, parseSharedFilter } from './validate.js'

/** One registration: the filter as given (with any `$share/` prefix) and its value. */
export interface TopicMatch<T> {
  filter: string
  value: T
}

interface Node<T> {
  children: Map<string, Node<T>>
  /** The `+` child. */
  plus: Node<T> | undefined
  /** Registrations whose filter ends with `#` right below this node. */
  hash: Array<TopicMatch<T>> | undefined
  /** Registrations whose filter ends exactly at this node. */
  exact: Array<TopicMatch<T>> | undefined
}

function newNode<T>(): Node<T> {
  return { children: new Map(), plus: undefined, hash: undefined, exact: undefined }
}

/**
 * Many filters to values; `match(topic)` returns every value whose filter matches, by the
 * MQTT spec rules of `matchesFilter`. A trie over levels: a lookup costs about the number
 * of topic levels times the wildcard branches that apply, not the number of filters.
 * A forwarder keeps one per process and looks up each incoming PUBLISH.
 */
export class TopicMatcher<T> {
  readonly #root: Node<T> = newNode()
  #size = 0

  /** Number of (filter, value) registrations. */
  get size(): number {
    return this.#size
  }

  /**
   * Registers `value` under `filter` (a plain or `$share/{group}/` filter). Throws TopicError
   * for an invalid filter. The same (filter, value) pair twice is kept once.
   */
  add(filter: string, value: T): void {
    const problem = filterProblem(filter)
    if (problem !== undefined) throw new TopicError(filter, problem)
    const levels = parseSharedFilter(filter).filter.split('/')
    let node = this.#root
    const last = levels[levels.length - 1]
    const pathLength = last === '#' ? levels.length - 1 : levels.length
    for (let i = 0; i < pathLength; i++) {
      const level = levels[i]!
      if (level === '+') {
        node.plus ??= newNode()
        node = node.plus
      } else {
        let child = node.children.get(level)
        if (child === undefined) {
          child = newNode()
          node.children.set(level, child)
        }
        node = child
      }
    }
    const list = last === '#' ? (node.hash ??= []) : (node.exact ??= [])
    if (list.some((e) => e.filter === filter && Object.is(e.value, value))) return
    list.push({ filter, value })
    this.#size++
  }

  /** Removes `value` registered under `filter`. Returns whether it was there. */
  remove(filter: string, value: T): boolean {
    return this.#remove(filter, (e) => Object.is(e.value, value))
  }

  /** Removes every value registered under `filter`. Returns whether there was any. */
  removeAll(filter: string): boolean {
    return this.#remove(filter, () => true)
  }

  #remove(filter: string, which: (e: TopicMatch<T>) => boolean): boolean {
    // Invalid filters were never added.
    if (filterProblem(filter) !== undefined) return false
    const levels = parseSharedFilter(filter).filter.split('/')
    const last = levels[levels.length - 1]
    const pathLength = last === '#' ? levels.length - 1 : levels.length
    const path: Array<{ parent: Node<T>; key: string | undefined }> = []
    let node = this.#root
    for (let i = 0; i < pathLength; i++) {
      const level = levels[i]!
      const next = level === '+' ? node.plus : node.children.get(level)
      if (next === undefined) return false
      path.push({ parent: node, key: level === '+' ? undefined : level })
      node = next
    }
    const field = last === '#' ? 'hash' : 'exact'
    const list = node[field]
    if (list === undefined) return false
    const keep = list.filter((e) => !(e.filter === filter && which(e)))
    const removed = list.length - keep.length
    if (removed === 0) return false
    this.#size -= removed
    node[field] = keep.length > 0 ? keep : undefined
    // Prune nodes that no longer lead anywhere, so churn does not grow the trie.
    for (let i = path.length - 1; i >= 0; i--) {
      const { parent, key } = path[i]!
      const child = key === undefined ? parent.plus : parent.children.get(key)
      if (child === undefined || !isEmpty(child)) break
      if (key === undefined) parent.plus = undefined
      else parent.children.delete(key)
    }
    return true
  }

  /** Removes every registration. */
  clear(): void {
    this.#root.children.clear()
    this.#root.plus = undefined
    this.#root.hash = undefined
    this.#root.exact = undefined
    this.#size = 0
  }

  /** Every registration whose filter matches `topic`. */
  matchEntries(topic: string): Array<TopicMatch<T>> {
    const out: Array<TopicMatch<T>> = []
    // `$` topics are not matched by a wildcard in the first level.
    const dollar = topic.startsWith('$')
    const levels = topic.split('/')
    const n = levels.length
    // Depth-first with an explicit stack: topics may have thousands of levels.
    const nodes: Array<Node<T>> = [this.#root]
    const depths: number[] = [0]
    while (nodes.length > 0) {
      const node = nodes.pop()!
      const i = depths.pop()!
      const wildcardOk = i > 0 || !dollar
      if (node.hash !== undefined && wildcardOk) out.push(...node.hash)
      if (i === n) {
        if (node.exact !== undefined) out.push(...node.exact)
        continue
      }
      const child = node.children.get(levels[i]!)
      if (child !== undefined) {
        nodes.push(child)
        depths.push(i + 1)
      }
      if (node.plus !== undefined && wildcardOk) {
        nodes.push(node.plus)
        depths.push(i + 1)
      }
    }
    return out
  }

  /** The values of every registration whose filter matches `topic`. */
  match(topic: string): T[] {
    return this.matchEntries(topic).map((e) => e.value)
  }

  /** True when at least one registration matches `topic`. */
  test(topic: string): boolean {
    return this.matchEntries(topic).length > 0
  }
}

function isEmpty<T>(node: Node<T>): boolean {
  return node.children.size === 0 && node.plus === undefined && node.hash === undefined && node.exact === undefined
}
