/**
 * FOCUS 1.2 services: the ServiceCategory/ServiceSubcategory values the specification allows, and the
 * mapping of Datadog products onto them (`focus-services.json`), checked against those values when
 * this module loads.
 */
import { readFileSync } from 'node:fs';

/** FOCUS 1.2 ServiceCategory values, each with its allowed ServiceSubcategory values. */
export const FOCUS_SERVICE_CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  'AI and Machine Learning': ['Bots', 'Generative AI', 'Machine Learning', 'Natural Language Processing'],
  Analytics: [
    'Analytics Platform',
    'Business Intelligence',
    'Data Processing',
    'Search',
    'Streaming Analytics',
  ],
  'Business Applications': [],
  Compute: ['Containers', 'End User Computing', 'Quantum', 'Serverless Compute', 'Virtual Machines'],
  Databases: ['Caching', 'Data Warehouse', 'Relational', 'NoSQL', 'Ledger', 'Time Series'],
  'Developer Tools': [],
  Multicloud: [],
  Identity: [],
  Integration: ['API Management', 'Messaging', 'Workflow Automation'],
  'Internet of Things': [],
  'Management and Governance': [
    'Administration',
    'Architecture',
    'Compliance',
    'Cost Management',
    'Data Governance',
    'Disaster Recovery',
    'Observability',
    'Support',
  ],
  Media: [],
  Migration: [],
  Mobile: [],
  Networking: [
    'Content Delivery',
    'Data Transfer',
    'Load Balancing',
    'Network Management',
    'Network Security',
  ],
  Security: ['CSPM', 'Credentials', 'SIEM', 'Threat Detection'],
  Storage: ['Backups', 'Bulk Transfer', 'Disk', 'Files', 'Object Storage'],
  Web: [],
  Other: [],
};

export interface FocusService {
  product: string;
  serviceName: string;
  serviceCategory: string;
  serviceSubcategory: string;
}

/** Checks a `{ products: { <product_name>: [ServiceName, ServiceCategory, ServiceSubcategory] } }` file. */
export function parseFocusServices(raw: unknown, source: string): FocusService[] {
  const products = (raw as { products?: unknown } | null)?.products;
  if (!products || typeof products !== 'object' || Array.isArray(products)) {
    throw new Error(
      `${source}: expected { "products": { "<product_name>": [name, category, subcategory] } }`,
    );
  }
  const services = Object.entries(products).map(([product, value]) => {
    if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === 'string' && v)) {
      throw new Error(
        `${source}: products.${product} must be [ServiceName, ServiceCategory, ServiceSubcategory]`,
      );
    }
    const [serviceName, serviceCategory, serviceSubcategory] = value as [string, string, string];
    const subcategories = FOCUS_SERVICE_CATEGORIES[serviceCategory];
    if (!subcategories) {
      throw new Error(
        `${source}: products.${product}: "${serviceCategory}" is not a FOCUS 1.2 ServiceCategory (${Object.keys(FOCUS_SERVICE_CATEGORIES).join(', ')})`,
      );
    }
    if (!subcategories.includes(serviceSubcategory) && serviceSubcategory !== `Other (${serviceCategory})`) {
      throw new Error(
        `${source}: products.${product}: "${serviceSubcategory}" is not a FOCUS ServiceSubcategory of "${serviceCategory}"`,
      );
    }
    return { product, serviceName, serviceCategory, serviceSubcategory };
  });
  if (services.length === 0) throw new Error(`${source}: products is empty`);
  return services;
}

const SERVICES_FILE = new URL('./focus-services.json', import.meta.url);

/** The product → FOCUS service mapping in `infra/athena/focus-services.json`. */
export const FOCUS_SERVICES: readonly FocusService[] = parseFocusServices(
  JSON.parse(readFileSync(SERVICES_FILE, 'utf8')),
  'infra/athena/focus-services.json',
);
