/** The nine Datadog sites. Keys are only ever sent to `https://api.<site>` for one of these. */
export const DATADOG_SITES = [
  'datadoghq.com',
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'datadoghq.eu',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'ddog-gov.com',
  'us2.ddog-gov.com',
  'uk1.datadoghq.com',
] as const;

export type DatadogSite = (typeof DATADOG_SITES)[number];

export const DEFAULT_SITE: DatadogSite = 'datadoghq.com';

export function isDatadogSite(value: unknown): value is DatadogSite {
  return typeof value === 'string' && (DATADOG_SITES as readonly string[]).includes(value);
}

/** `https://api.<site>`; the only origin a deployed Lambda talks to. */
export function apiOrigin(site: DatadogSite): string {
  return `https://api.${site}`;
}

/** The web app of a site (`https://app.datadoghq.com`, `https://us3.datadoghq.com`): where keys are managed. */
export function appOrigin(site: DatadogSite): string {
  return site.split('.').length === 2 ? `https://app.${site}` : `https://${site}`;
}
