// Message topics (docs/protocol/transactions.md §4.3, docs/protocol/http-api.md §4.13): a topic is a KV entry of category
// `topics` holding its subscribers; a msg step `topic://NAME` fans out to every subscriber when
// the message is saved. Resolution uses an in-memory map refreshed from storage.
//
// Differences from dtm (both only make topics fresher): a change made through this instance is
// visible to it at once (dtm waits for the next refresh), and a refresh replaces the whole map,
// so a deleted topic stops resolving within ConfigUpdateInterval (dtm keeps it until restart).
import type { KvRow, Store } from './store/port.ts';
import { checkSubscriberUrl, checkText, DEFAULT_TARGET_RULES, type TargetRules } from './checks.ts';
import { internal, STORAGE_NOT_FOUND } from './errors.ts';
import type { Logger } from './logger.ts';
import { silentLogger } from './logger.ts';
import type { TopicResolver } from './types/module.ts';

export const TOPICS_CATEGORY = 'topics';

export interface Subscriber {
  url: string;
  remark: string;
}

/** A subscriber field: a string as it is, another JSON value in its JSON form, '' when absent. */
function field(v: unknown): string {
  if (typeof v === 'string') return v;
  return v === undefined || v === null ? '' : JSON.stringify(v);
}

function parseSubscribers(v: string | null): Subscriber[] {
  if (!v) return [];
  try {
    const list = JSON.parse(v) as unknown;
    if (!Array.isArray(list)) return [];
    return list.map((s: { url?: unknown; remark?: unknown } | null) => ({ url: field(s?.url), remark: field(s?.remark) }));
  } catch {
    return [];
  }
}

/** dtm's JSON for the subscriber list: `[{"url":"...","remark":"..."}]`. */
function encodeSubscribers(list: Subscriber[]): string {
  return JSON.stringify(list.map((s) => ({ url: s.url, remark: s.remark })));
}

export class Topics implements TopicResolver {
  private map = new Map<string, string[]>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly log: Logger = silentLogger,
    /** What a subscriber URL may be (the coordinator's gRPC schemes and egress policy). */
    private readonly rules: TargetRules = DEFAULT_TARGET_RULES,
  ) {}

  resolve(topic: string): string[] {
    return this.map.get(topic) ?? [];
  }

  async refresh(): Promise<void> {
    const rows = await this.store.kvFind(TOPICS_CATEGORY, '');
    this.map = new Map(rows.map((r) => [r.k, parseSubscribers(r.v).map((s) => s.url)]));
  }

  /** Loads the topics now, then every `seconds`. */
  async start(seconds: number): Promise<void> {
    await this.refresh();
    this.timer = setInterval(
      () => {
        this.refresh().catch((err: Error) => this.log.warn({ err: err.message }, 'topic refresh failed'));
      },
      Math.max(1, seconds) * 1000,
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async find(topic: string): Promise<KvRow | undefined> {
    // Names and subscribers are stored (kv.k, kv.v): what no store keeps is refused (checks.ts).
    checkText('topic', topic);
    return (await this.store.kvFind(TOPICS_CATEGORY, topic))[0];
  }

  async subscribe(topic: string, url: string, remark: string): Promise<void> {
    if (!topic) throw internal('empty topic');
    if (!url) throw internal('empty url');
    checkSubscriberUrl(url, this.rules);
    checkText('remark', remark);
    const now = new Date();
    const row = await this.find(topic);
    if (!row) {
      if (!(await this.store.kvCreate(TOPICS_CATEGORY, topic, encodeSubscribers([{ url, remark }]), now))) {
        throw internal('storage: UniqueKeyConflict');
      }
    } else {
      const list = parseSubscribers(row.v);
      if (list.some((s) => s.url === url)) throw internal('this url exists');
      list.push({ url, remark });
      if (!(await this.store.kvUpdate(TOPICS_CATEGORY, topic, encodeSubscribers(list), row.version, now))) {
        throw internal(STORAGE_NOT_FOUND);
      }
    }
    await this.refresh();
  }

  async unsubscribe(topic: string, url: string): Promise<void> {
    if (!topic) throw internal('empty topic');
    if (!url) throw internal('empty url');
    const row = await this.find(topic);
    if (!row) throw internal('no such a topic');
    const list = parseSubscribers(row.v);
    if (list.length === 0) throw internal('this topic is empty');
    const i = list.findIndex((s) => s.url === url);
    if (i < 0) throw internal('no such an url ');
    list.splice(i, 1);
    if (!(await this.store.kvUpdate(TOPICS_CATEGORY, topic, encodeSubscribers(list), row.version, new Date()))) {
      throw internal(STORAGE_NOT_FOUND);
    }
    await this.refresh();
  }

  async deleteTopic(topic: string): Promise<void> {
    checkText('topic', topic);
    if (!(await this.store.kvDelete(TOPICS_CATEGORY, topic))) throw internal(STORAGE_NOT_FOUND);
    await this.refresh();
  }
}
