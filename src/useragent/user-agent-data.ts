import { LRUCache } from 'lru-cache';
import { UAParser } from 'ua-parser-js';

/**
 * What the list endpoint shows of a User-Agent, with the field names of the Python original.
 * Unknown families are `"Other"`; unknown brand and model are `null`.
 */
export interface UserAgentData {
  readonly os: string;
  readonly device_brand: string | null;
  readonly device_model: string | null;
  readonly device_family: string;
  readonly browser: string;
  readonly is_mobile: boolean;
  readonly is_tablet: boolean;
}

/** ua-parser-js names that differ from uap-core's (which the Python original used). */
const OS_NAMES: Readonly<Record<string, string>> = { 'Mac OS': 'Mac OS X' };

/** `curl/8.4.0` → `curl`: clients that ua-parser-js does not know still get a family. */
const PRODUCT = /^([A-Za-z][A-Za-z0-9._-]{0,40})\/\d/;

// User-Agent strings are attacker-controlled, so the memo is bounded.
const memo = new LRUCache<string, UserAgentData>({ max: 2000 });

/**
 * Parses a User-Agent into {@link UserAgentData}, memoised per distinct string.
 *
 * @example userAgentData('curl/8.4.0').browser // 'curl'
 */
export function userAgentData(userAgent: string): UserAgentData {
  const hit = memo.get(userAgent);
  if (hit !== undefined) return hit;
  const data = parse(userAgent);
  memo.set(userAgent, data);
  return data;
}

function parse(userAgent: string): UserAgentData {
  // Parsing cost grows with length; real agents are well under 1 KB.
  const { browser, os, device } = new UAParser(userAgent.slice(0, 1024)).getResult();
  const product = PRODUCT.exec(userAgent)?.[1];
  const osName = os.name === undefined ? 'Other' : (OS_NAMES[os.name] ?? os.name);
  return Object.freeze({
    os: osName,
    device_brand: device.vendor ?? null,
    device_model: device.model ?? null,
    device_family: device.model ?? 'Other',
    browser: browser.name ?? (product !== undefined && product !== 'Mozilla' ? product : 'Other'),
    is_mobile: device.type === 'mobile',
    is_tablet: device.type === 'tablet',
  });
}

/**
 * Whether two User-Agents belong to the same browser, OS and device family (a version bump is
 * not a change).
 */
export function sameUserAgentFamily(a: string, b: string): boolean {
  if (a === b) return true;
  const x = userAgentData(a);
  const y = userAgentData(b);
  return x.browser === y.browser && x.os === y.os && x.device_family === y.device_family;
}
