/** Events buffered per async iterator before the oldest are dropped (a stalled reader). */
const ITERATOR_BUFFER = 10_000;

type Listener<E> = (event: E) => void;
type OfType<E extends { type: string }, T extends E["type"]> = Extract<E, { type: T }>;

/**
 * A typed event stream: listeners for logs and metrics, `for await` for consumers, and `once`
 * for "wait until this happens" (tests, orchestration). Listeners run synchronously; one that
 * throws is reported as a process warning and does not disturb the others.
 */
export interface EventStream<E extends { type: string }> extends AsyncIterable<E> {
  /** Every event; returns the unsubscribe function. */
  subscribe(listener: Listener<E>): () => void;
  /** Events of one type; returns the unsubscribe function. */
  on<T extends E["type"]>(type: T, listener: Listener<OfType<E, T>>): () => void;
  /** The next event of `type` matching `predicate` (only events emitted from now on). */
  once<T extends E["type"]>(
    type: T,
    predicate?: (event: OfType<E, T>) => boolean,
  ): Promise<OfType<E, T>>;
  /** A view holding only the events that match. */
  filter(predicate: (event: E) => boolean): EventStream<E>;
}

/** The emitting side, kept by the runtime. */
export class EventHub<E extends { type: string }> implements EventStream<E> {
  #listeners = new Set<Listener<E>>();

  /** Whether anyone listens: emitters skip building events nobody reads. */
  get active(): boolean {
    return this.#listeners.size > 0;
  }

  emit(event: E): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        process.emitWarning(`troupe event listener threw on "${event.type}": ${String(error)}`);
      }
    }
  }

  subscribe(listener: Listener<E>): () => void {
    // A wrapper makes each subscription distinct, even for the same function twice.
    const entry: Listener<E> = (event) => listener(event);
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  on<T extends E["type"]>(type: T, listener: Listener<OfType<E, T>>): () => void {
    return this.subscribe((event) => {
      if (event.type === type) listener(event as OfType<E, T>);
    });
  }

  once<T extends E["type"]>(
    type: T,
    predicate?: (event: OfType<E, T>) => boolean,
  ): Promise<OfType<E, T>> {
    return new Promise((resolve) => {
      const off = this.on(type, (event) => {
        if (predicate !== undefined && !predicate(event)) return;
        off();
        resolve(event);
      });
    });
  }

  filter(predicate: (event: E) => boolean): EventStream<E> {
    return new FilteredStream(this, predicate);
  }

  [Symbol.asyncIterator](): AsyncIterator<E> {
    return iterate(this);
  }
}

class FilteredStream<E extends { type: string }> extends EventHub<E> {
  #source: EventStream<E>;
  #predicate: (event: E) => boolean;

  constructor(source: EventStream<E>, predicate: (event: E) => boolean) {
    super();
    this.#source = source;
    this.#predicate = predicate;
  }

  override subscribe(listener: Listener<E>): () => void {
    return this.#source.subscribe((event) => {
      if (this.#predicate(event)) listener(event);
    });
  }
}

function iterate<E extends { type: string }>(stream: EventStream<E>): AsyncIterator<E> {
  const buffered: E[] = [];
  let waiting: ((result: IteratorResult<E>) => void) | undefined;
  let done = false;
  const off = stream.subscribe((event) => {
    if (waiting !== undefined) {
      const resolve = waiting;
      waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (buffered.length >= ITERATOR_BUFFER) buffered.shift();
    buffered.push(event);
  });
  const finish = (): Promise<IteratorResult<E>> => {
    done = true;
    off();
    buffered.length = 0;
    const resolve = waiting;
    waiting = undefined;
    resolve?.({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  };
  return {
    next() {
      const event = buffered.shift();
      if (event !== undefined) return Promise.resolve({ value: event, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return: finish,
  };
}
