import { describe, expect, test } from 'vitest';
import { sameUserAgentFamily, userAgentData } from '../../src/useragent/user-agent-data.js';

const chromeMac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const chromeMacNext = chromeMac.replace('Chrome/120.0.0.0', 'Chrome/121.0.6167.85');
const firefoxMac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0';
const iphone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
const ipad =
  'Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';

describe('userAgentData', () => {
  test('has the seven fields of the original', () => {
    expect(userAgentData(iphone)).toEqual({
      os: 'iOS',
      device_brand: 'Apple',
      device_model: 'iPhone',
      device_family: 'iPhone',
      browser: 'Mobile Safari',
      is_mobile: true,
      is_tablet: false,
    });
    expect(userAgentData(ipad).is_tablet).toBe(true);
    expect(userAgentData(chromeMac).os).toBe('Mac OS X');
  });

  test('unknown agents are "Other" with null brand and model; tools keep their product name', () => {
    expect(userAgentData('')).toEqual({
      os: 'Other',
      device_brand: null,
      device_model: null,
      device_family: 'Other',
      browser: 'Other',
      is_mobile: false,
      is_tablet: false,
    });
    expect(userAgentData('curl/8.4.0').browser).toBe('curl');
  });

  test('a script in the agent is data, not markup', () => {
    expect(userAgentData('<script>alert(1)</script>').browser).toBe('Other');
  });
});

describe('sameUserAgentFamily', () => {
  test('a browser update is not a change', () => {
    expect(sameUserAgentFamily(chromeMac, chromeMacNext)).toBe(true);
  });
  test('another browser or device is a change', () => {
    expect(sameUserAgentFamily(chromeMac, firefoxMac)).toBe(false);
    expect(sameUserAgentFamily(iphone, ipad)).toBe(false);
    expect(sameUserAgentFamily(chromeMac, 'curl/8.4.0')).toBe(false);
  });
});
