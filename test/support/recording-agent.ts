import { type Dispatcher, MockAgent } from 'undici';

/** A MockAgent that connects nowhere and records, for every request, where it went and the API key it carried. */
export class RecordingAgent extends MockAgent {
  readonly seen: Array<{ origin: string; apiKey: unknown }> = [];

  constructor() {
    super();
    this.disableNetConnect();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const headers = (options.headers ?? {}) as Record<string, unknown>;
    this.seen.push({ origin: String(options.origin), apiKey: headers['dd-api-key'] });
    return super.dispatch(options, handler);
  }
}
