// A Map that keeps at most `max` entries: setting a key makes it the newest, and the oldest goes first
// when there are too many. For what a runner remembers per session or process (answers, subjects, sends).
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key); // re-inserted last: the map's order is the age order
    super.set(key, value);
    if (this.size > this.max) super.delete(this.keys().next().value!);
    return this;
  }
}
