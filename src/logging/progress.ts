/** A one-line progress display on a terminal (stderr); silent elsewhere, where JSON logs tell the story. */
export class ProgressLine {
  private readonly counts = new Map<string, number>();
  private done_ = 0;
  private lastDraw = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly enabled: boolean,
  ) {}

  update(outcome: string): void {
    this.done_ += 1;
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
    if (!this.enabled || Date.now() - this.lastDraw < 100) return;
    this.lastDraw = Date.now();
    this.draw();
  }

  done(): void {
    if (!this.enabled) return;
    this.draw();
    this.stream.write('\n');
  }

  private draw(): void {
    const parts = [...this.counts.entries()].map(([outcome, count]) => `${outcome} ${count}`).join(' · ');
    this.stream.write(`\r\x1b[2K[${this.done_} done] ${parts}`);
  }
}
