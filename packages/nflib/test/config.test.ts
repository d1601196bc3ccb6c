import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSection, parseLocatedJson } from '../src/config/located-json.js';

const text = `{
  "router": { "routes": "table.txt", "ttl": 300 },
  "ipsec": {
    "sas": [
      { "spi": 4096, "encKey": "00" },
      { "spi": "oops" }
    ]
  }
}`;

describe('located JSON config', () => {
  it('parses like JSON.parse', () => {
    expect(parseLocatedJson(text, 'gnet.json').value).toEqual(JSON.parse(text));
    for (const t of ['[]', '{}', '[1,-2.5e3,true,false,null,"a\\"b\\u0041"]', '  {"a":{"b":[{}]}}  ']) {
      expect(parseLocatedJson(t, 'x').value).toEqual(JSON.parse(t));
    }
  });

  it('names file, line and field for a bad value', () => {
    const doc = parseLocatedJson(text, 'gnet.json');
    const sas = new ConfigSection(doc, 'ipsec').sections('sas');
    expect(sas[0].integer('spi', 256, 2 ** 32 - 1)).toBe(4096);
    const err = (() => {
      try {
        sas[1].integer('spi', 256, 2 ** 32 - 1);
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toBe('gnet.json:6:16: ipsec.sas[1].spi: must be an integer');
    expect(err!.line).toBe(6);
    expect(err!.field).toBe('ipsec.sas[1].spi');
  });

  it('reports missing and out-of-range fields at their section', () => {
    const doc = parseLocatedJson(text, 'gnet.json');
    const r = new ConfigSection(doc, 'router');
    expect(() => r.integer('ttl', 1, 255)).toThrow('gnet.json:2:45: router.ttl: must be between 1 and 255, got 300');
    expect(() => r.string('nexthops')).toThrow(/gnet\.json:2:\d+: router\.nexthops: is required/);
    expect(() => r.oneOf('mode', ['cpu', 'gpu'] as const)).toThrow(/must be one of "cpu", "gpu"/);
    expect(r.oneOf('mode', ['cpu', 'gpu'] as const, 'cpu')).toBe('cpu');
  });

  it('reports syntax errors with line and column', () => {
    expect(() => parseLocatedJson('{\n  "a": 1,\n  "b": ]\n}', 'bad.json')).toThrow("bad.json:3:8: b: unexpected character ']'");
    expect(() => parseLocatedJson('{"a": 1', 'bad.json')).toThrow(/bad\.json:1:8: .*expected ',' or '}'/);
    expect(() => parseLocatedJson('{"a": "x\n"}', 'bad.json')).toThrow(/newline inside a string/);
    expect(() => parseLocatedJson('{} x', 'bad.json')).toThrow(/unexpected text after the JSON value/);
  });
});
