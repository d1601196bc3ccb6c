/**
 * The firewall's packet side, apart from the NF hooks: config, 5-tuple extraction from frames into
 * packed keys, applying rule actions with counters and per-rule hits, and rule reloads.
 *
 * Packets (Ethernet, untagged IPv4):
 * - TCP, UDP, SCTP: classified on their ports; ICMP: type as the source port, code as the
 *   destination port; other protocols: ports 0.
 * - Fragments: a first fragment (offset 0) is classified like any packet (a first fragment too
 *   short to hold the ports is malformed). A non-first fragment has no ports: with `fragments:
 *   "rules"` (default) it is classified by the rules whose port ranges are both wildcards only (the
 *   ones that can decide it without ports), else by the default policy; `"accept"` or `"drop"`
 *   decide all of them without classifying. Each is counted under `fragment`.
 * - Non-IPv4 frames (ARP, IPv6, VLAN-tagged) pass or drop per `nonIpv4` (default accept), counted.
 * - Malformed IPv4 (truncated, bad version or header length, total length beyond the frame) is
 *   dropped and counted under `malformed`; nothing throws.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Action, ConfigSection, parseLocatedJson, type PacketBatch } from '@gnet/nflib';
import { Classifier, ClassifierRef, KEY_FRAGMENT, KEY_WORDS, type BuildOptions } from './classifier.js';
import { buildInWorker, type BuildRequest } from './reload.js';
import { parseRules, RuleAction, type RuleSet } from './rules.js';

/** Named counters of the firewall NF, in this order (see the README). */
export const COUNTER_NAMES = [
  'accept',
  'drop_rule',
  'out',
  'tonf',
  'accept_default',
  'drop_default',
  'non_ipv4',
  'malformed',
  'fragment',
  'reload',
  'reload_failed',
] as const;

const C_ACCEPT = 0;
const C_DROP_RULE = 1;
const C_OUT = 2;
const C_TONF = 3;
const C_ACCEPT_DEFAULT = 4;
const C_DROP_DEFAULT = 5;
const C_NON_IPV4 = 6;
const C_MALFORMED = 7;
const C_FRAGMENT = 8;
const C_RELOAD = 9;
const C_RELOAD_FAILED = 10;

/** What {@link Firewall.prepare} found per packet (prepare and apply use literal copies). */
export const PacketStatus = {
  /** Key written: classify it. */
  CLASSIFY: 0,
  /** Action already decided (non-IPv4, malformed, fragment by policy). */
  DECIDED: 1,
} as const;

/** The firewall's config section (`{"firewall": {...}}`). */
export interface FirewallConfig {
  /** Rule file (ClassBench or gnet lines); relative to the working directory. */
  rulesFile?: string;
  /** Rules inline, one line per element (used when there is no `rulesFile`). */
  rules?: string[];
  /** Action when no rule matches: `accept` or `drop` (default: the file's `policy` line, else `drop`). */
  defaultPolicy?: 'accept' | 'drop';
  /** Non-IPv4 frames: `accept` (default) or `drop`. */
  nonIpv4?: 'accept' | 'drop';
  /** Non-first fragments: `rules` (default), `accept` or `drop`. */
  fragments?: 'rules' | 'accept' | 'drop';
  /** Where to write per-rule hit counts as JSON when the NF stops. */
  hitsFile?: string;
  /** Reload the rules when `rulesFile` changes (polled every `watchIntervalMs`, default 200). */
  watch?: boolean;
  /** Poll interval of `watch` in milliseconds. */
  watchIntervalMs?: number;
}

/**
 * Reads and checks the firewall's section of the config file; problems name the file, line and
 * field (a `ConfigError`, or a `RuleError` for the rules).
 */
export function readFirewallConfig(plain: Record<string, unknown>, configSource: string, section = 'firewall'): FirewallConfig {
  let s: ConfigSection;
  try {
    const doc = parseLocatedJson(readFileSync(configSource, 'utf8'), configSource);
    s = new ConfigSection(doc, section);
  } catch {
    // No readable config file (library use): check the plain object without positions.
    s = new ConfigSection({ value: { [section]: plain }, positions: new Map(), source: configSource || '<config>' }, section);
  }
  const cfg: FirewallConfig = {
    rulesFile: s.has('rulesFile') ? s.string('rulesFile') : undefined,
    rules: s.has('rules') ? s.strings('rules') : undefined,
    defaultPolicy: s.has('defaultPolicy') ? s.oneOf('defaultPolicy', ['accept', 'drop'] as const) : undefined,
    nonIpv4: s.oneOf('nonIpv4', ['accept', 'drop'] as const, 'accept'),
    fragments: s.oneOf('fragments', ['rules', 'accept', 'drop'] as const, 'rules'),
    hitsFile: s.has('hitsFile') ? s.string('hitsFile') : undefined,
    watch: s.boolean('watch', false),
    watchIntervalMs: s.integer('watchIntervalMs', 10, 60_000, 200),
  };
  if (!cfg.rulesFile && !cfg.rules) throw s.error('', 'needs "rulesFile" (a rule file) or "rules" (an array of rule lines)');
  if (cfg.watch && !cfg.rulesFile) throw s.error('watch', 'needs "rulesFile" to watch');
  return cfg;
}

/** Rules, policy and built classifier of one generation. */
export interface RuleGeneration {
  /** The classifier (with its rules). */
  readonly classifier: Classifier;
  /** Action of unmatched packets. */
  readonly policy: number;
  /** Per-rule hit counts of this generation; the last entry counts packets no rule matched. */
  readonly hits: Float64Array;
}

/**
 * The firewall state of one NF instance: the current rule generation behind one reference, its
 * counters, and the reload path.
 */
export class Firewall {
  /** The configuration. */
  readonly config: FirewallConfig;
  /** Named counters (see {@link COUNTER_NAMES}). */
  readonly counters: Float64Array;
  /** The current generation; swapped as a whole by {@link Firewall.reload}. */
  gen: RuleGeneration;
  /** Called after each successful reload (the NF re-uploads device tables). */
  onSwap?: (gen: RuleGeneration) => void;
  private readonly ref: ClassifierRef;
  private readonly build: BuildOptions;
  private keys: Uint32Array;
  private results: Int32Array;
  private status: Uint8Array;
  /** The last background reload queued (they are built and swapped in order). */
  private reloading: Promise<unknown> = Promise.resolve();

  /**
   * Builds the first generation from the config.
   * @throws RuleError for a bad rule file.
   */
  constructor(config: FirewallConfig, counters?: Float64Array, build: BuildOptions = {}) {
    this.config = config;
    this.counters = counters ?? new Float64Array(COUNTER_NAMES.length);
    this.build = build;
    this.gen = this.makeGeneration(this.loadRules());
    this.ref = new ClassifierRef(this.gen.classifier);
    this.keys = new Uint32Array(0);
    this.results = new Int32Array(0);
    this.status = new Uint8Array(0);
  }

  /** Where the rules come from: `text` (a reload message), else the rule file, else the config's lines. */
  private source(text?: string): BuildRequest {
    if (text !== undefined) return { text, label: '<reload message>', options: this.build };
    if (this.config.rulesFile) return { file: this.config.rulesFile, label: this.config.rulesFile, options: this.build };
    return { text: (this.config.rules ?? []).join('\n'), label: 'config rules', options: this.build };
  }

  private loadRules(text?: string): RuleSet {
    const src = this.source(text);
    return parseRules(src.file !== undefined ? readFileSync(src.file, 'utf8') : (src.text ?? ''), src.label);
  }

  private makeGeneration(rs: RuleSet, classifier = new Classifier(rs, this.build)): RuleGeneration {
    const p = this.config.defaultPolicy;
    const policy = p === 'accept' ? RuleAction.ACCEPT : p === 'drop' ? RuleAction.DROP : (rs.policy ?? RuleAction.DROP);
    return { classifier, policy, hits: new Float64Array(rs.count + 1) };
  }

  /** The one assignment a reload makes on the data path's thread. */
  private swapIn(next: RuleGeneration): void {
    this.ref.swap(next.classifier);
    this.gen = next;
    this.counters[C_RELOAD]++;
    this.onSwap?.(next);
  }

  /**
   * Rebuilds the classifier from the rule file (or from `text`) on this thread and swaps it in as
   * one reference. A bad rule file keeps the old rules (counted under `reload_failed`). Returns the
   * error or null. The data path uses {@link Firewall.reloadInBackground} instead, which does not
   * stop traffic for the build.
   */
  reload(text?: string): Error | null {
    let next: RuleGeneration;
    try {
      next = this.makeGeneration(this.loadRules(text));
    } catch (err) {
      this.counters[C_RELOAD_FAILED]++;
      return err as Error;
    }
    this.swapIn(next);
    return null;
  }

  /**
   * Rebuilds the classifier from the rule file (or from `text`) in a worker thread while this
   * thread keeps classifying with the current generation, then swaps the new one in as one
   * reference. The swap runs from this thread's event loop, which the NF's packet loop only yields
   * to between batches, so every batch is classified wholly by the old or wholly by the new rules.
   * Reloads queued while one builds are built and swapped in order. Resolves with null once
   * swapped, or with the error (old rules kept, counted under `reload_failed`).
   */
  reloadInBackground(text?: string): Promise<Error | null> {
    const req = this.source(text);
    const done = this.reloading.then(() =>
      buildInWorker(req).then(
        (classifier) => {
          this.swapIn(this.makeGeneration(classifier.rules, classifier));
          return null;
        },
        (err: Error) => {
          this.counters[C_RELOAD_FAILED]++;
          return err;
        },
      ),
    );
    this.reloading = done;
    return done;
  }

  /**
   * Parses each packet of `batch` into `keys` (see `packKey`); packets that need no classification
   * (non-IPv4, malformed, fragments decided by policy) get their action here and status DECIDED.
   */
  prepare(batch: PacketBatch, keys: Uint32Array, status: Uint8Array): void {
    // Everything the loop touches in locals (constants as literals: the bundler makes module
    // constants mutable `var`s, which V8 reloads instead of folding; see classifyTables);
    // multi-byte fields through the DataView (one big-endian load instead of 2-4 bytes and shifts).
    const W = 4; // KEY_WORDS
    const DECIDED = 1; // PacketStatus.DECIDED
    const CLASSIFY = 0; // PacketStatus.CLASSIFY
    const data = batch.data;
    const view = batch.view;
    const offsets = batch.offsets;
    const lengths = batch.lengths;
    const action = batch.action;
    const n = batch.count;
    const cfg = this.config;
    const c = this.counters;
    for (let i = 0; i < n; i++) {
      const o = offsets[i];
      const len = lengths[i];
      const k = i * W;
      status[i] = DECIDED;
      if (len < 14) {
        c[C_MALFORMED]++;
        action[i] = Action.DROP;
        continue;
      }
      if (view.getUint16(o + 12) !== 0x0800) {
        c[C_NON_IPV4]++;
        action[i] = cfg.nonIpv4 === 'drop' ? Action.DROP : Action.NEXT;
        continue;
      }
      const ip = o + 14;
      const vihl = data[ip];
      const ihl = (vihl & 0x0f) << 2;
      const total = len < 34 ? 0 : view.getUint16(ip + 2);
      if (len < 34 || vihl >>> 4 !== 4 || ihl < 20 || total < ihl || 14 + total > len) {
        c[C_MALFORMED]++;
        action[i] = Action.DROP;
        continue;
      }
      const proto = data[ip + 9];
      keys[k] = view.getUint32(ip + 12);
      keys[k + 1] = view.getUint32(ip + 16);
      if ((view.getUint16(ip + 6) & 0x1fff) !== 0) {
        c[C_FRAGMENT]++;
        if (cfg.fragments !== 'rules') {
          action[i] = cfg.fragments === 'drop' ? Action.DROP : Action.NEXT;
          continue;
        }
        keys[k + 2] = 0;
        keys[k + 3] = proto | KEY_FRAGMENT;
        status[i] = CLASSIFY;
        continue;
      }
      const l4 = ip + ihl;
      const l4len = total - ihl;
      let ports = 0;
      if (proto === 6 || proto === 17 || proto === 132) {
        if (l4len < 4) {
          c[C_MALFORMED]++;
          action[i] = Action.DROP;
          continue;
        }
        ports = view.getUint32(l4);
      } else if (proto === 1) {
        if (l4len < 2) {
          c[C_MALFORMED]++;
          action[i] = Action.DROP;
          continue;
        }
        ports = (data[l4] << 16) | data[l4 + 1];
      }
      keys[k + 2] = ports;
      keys[k + 3] = proto;
      status[i] = CLASSIFY;
    }
  }

  /**
   * Applies classification `results` (rule index or -1) of generation `gen` to the packets with
   * status CLASSIFY: the rule's action (or the default policy), its hit count and the counters.
   */
  apply(batch: PacketBatch, status: Uint8Array, results: Int32Array, gen: RuleGeneration): void {
    const rs = gen.classifier.rules;
    const ruleAction = rs.action;
    const hits = gen.hits;
    const action = batch.action;
    const n = batch.count;
    const CLASSIFY = 0; // PacketStatus.CLASSIFY, a literal (see prepare)
    const ACCEPT = RuleAction.ACCEPT;
    const DROP = RuleAction.DROP;
    const NEXT = Action.NEXT;
    const ACTION_DROP = Action.DROP;
    // Counted in locals and added once per batch (not a load-add-store chain on one slot per packet).
    let accept = 0;
    let dropRule = 0;
    let unmatched = 0;
    for (let i = 0; i < n; i++) {
      if (status[i] !== CLASSIFY) continue;
      const r = results[i];
      if (r < 0) {
        unmatched++;
        action[i] = gen.policy === ACCEPT ? NEXT : ACTION_DROP;
        continue;
      }
      hits[r]++;
      const a = ruleAction[r];
      if (a === ACCEPT) {
        accept++;
        action[i] = NEXT;
      } else if (a === DROP) {
        dropRule++;
        action[i] = ACTION_DROP;
      } else {
        this.counters[a === RuleAction.OUT ? C_OUT : C_TONF]++;
        action[i] = a === RuleAction.OUT ? Action.OUT : Action.TONF;
        batch.destination[i] = rs.target[r];
      }
    }
    const c = this.counters;
    c[C_ACCEPT] += accept;
    c[C_DROP_RULE] += dropRule;
    hits[rs.count] += unmatched;
    c[gen.policy === RuleAction.ACCEPT ? C_ACCEPT_DEFAULT : C_DROP_DEFAULT] += unmatched;
  }

  /** The whole batch on the CPU: parse, classify with the current generation, apply. */
  process(batch: PacketBatch): void {
    const n = batch.count;
    if (this.status.length < n) {
      // Sized once for the burst (the first batch); not per packet.
      this.keys = new Uint32Array(Math.max(n, 32) * KEY_WORDS);
      this.results = new Int32Array(Math.max(n, 32));
      this.status = new Uint8Array(Math.max(n, 32));
    }
    const gen = this.gen;
    this.prepare(batch, this.keys, this.status);
    gen.classifier.classifyBatch(this.keys, this.results, n);
    this.apply(batch, this.status, this.results, gen);
  }

  /** Per-rule hits of the current generation as a JSON-ready object. */
  hitsReport(): { rules: number; generation: number; hits: { rule: number; line: number; hits: number }[]; defaultHits: number } {
    const rs = this.gen.classifier.rules;
    const hits: { rule: number; line: number; hits: number }[] = [];
    for (let r = 0; r < rs.count; r++) if (this.gen.hits[r] > 0) hits.push({ rule: r + 1, line: rs.lines[r], hits: this.gen.hits[r] });
    return { rules: rs.count, generation: this.counters[C_RELOAD], hits, defaultHits: this.gen.hits[rs.count] };
  }

  /** Writes {@link Firewall.hitsReport} to `path` as JSON. */
  writeHits(path: string): void {
    writeFileSync(path, JSON.stringify(this.hitsReport()) + '\n');
  }
}
