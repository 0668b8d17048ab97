import { describe, expect, it } from 'vitest';
import { loadLimitProfiles, vnDayStart } from './limits.ts';
import { parseRules } from './rules.ts';

const profiles = loadLimitProfiles();

describe('QCVN limit profiles', () => {
  it('loads both profiles with a source and effective dates on every value', () => {
    expect([...profiles.keys()].sort()).toEqual(['qcvn-05-2023', 'qcvn-40-2011']);
    for (const p of profiles.values()) for (const e of p.limits) expect(e.source.length).toBeGreaterThan(5), expect(e.effective_from).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const q40 = profiles.get('qcvn-40-2011')!;
    // Values the research could not confirm stay marked.
    expect(q40.limits.filter((e) => e.column === 'A' && e.max == null).every((e) => e.unconfirmed)).toBe(true);
    expect(q40.limits.find((e) => e.param === 'COLIFORM' && e.column === 'A')).toMatchObject({ max: 3000, unconfirmed: true, tag: 'C' });
  });

  it('switches the PM2.5 24 h limit from 50 to 45 at 00:00 on 1 January 2026, Vietnam time', () => {
    const { rules } = parseRules(
      `version: 1
rules:
  - { id: pm25, kind: threshold, param: PM2_5, value: mean, limit: { profile: qcvn-05-2023, period: 24h } }
`,
      'r.yaml',
      { profiles },
    );
    const r = rules[0]!;
    expect(r.windowMs).toBe(86_400_000);
    const midnight = vnDayStart('2026-01-01');
    expect(midnight).toBe(Date.parse('2025-12-31T17:00:00Z'));
    expect(r.limitFor!('S1', midnight - 1)).toMatchObject({ above: 50, profile: 'qcvn-05-2023' });
    expect(r.limitFor!('S1', midnight)).toMatchObject({ above: 45 });
    expect(r.limitFor!('S1', vnDayStart('2023-09-11'))).toBeUndefined();
  });

  it('applies Kq × Kf from station settings to QCVN 40 columns, but not to pH', () => {
    const { rules } = parseRules(
      `version: 1
station_settings:
  W1: { column: B, kq: 0.9, kf: 1.1 }
rules:
  - { id: cod, kind: threshold, param: COD, stations: [W1], limit: { profile: qcvn-40-2011 } }
  - { id: ph, kind: threshold, param: PH, stations: [W1], limit: { profile: qcvn-40-2011 } }
`,
      'r.yaml',
      { profiles },
    );
    const t = Date.parse('2024-05-01T00:00:00Z');
    expect(rules[0]!.limitFor!('W1', t)).toMatchObject({ above: 148.5 });
    expect(rules[0]!.limitFor!('W1', t)!.label).toMatch(/Kq 0.9 × Kf 1.1/);
    expect(rules[1]!.limitFor!('W1', t)).toMatchObject({ above: 9, below: 5.5 });
  });

  it('refuses unconfirmed values unless the rule opts in, and missing Kq/Kf', () => {
    const unconfirmed = `version: 1
rules:
  - { id: coli, kind: threshold, param: COD, stations: [W1], limit: { profile: qcvn-40-2011, param: COLIFORM, column: A } }
`;
    expect(() => parseRules(unconfirmed, 'r.yaml', { profiles })).toThrow(/marked unconfirmed.*allow_unconfirmed/);
    expect(() => parseRules(unconfirmed.replace('column: A }', 'column: A }, allow_unconfirmed: true'), 'r.yaml', { profiles })).not.toThrow();
    expect(() =>
      parseRules(`version: 1
rules:
  - { id: cod, kind: threshold, param: COD, stations: [W1], limit: { profile: qcvn-40-2011, column: B } }
`, 'r.yaml', { profiles }),
    ).toThrow(/station_settings.W1.kq and .kf/);
  });
});

describe('rules file errors name the file, the line and the fix', () => {
  it.each([
    ['kind: threshhold', /r\.yaml:4 rules\[0\]\.kind: /],
    ['kind: threshold\n    param: PM25', /r\.yaml:5 rules\[0\]\.param: not a parameter code/],
    ['kind: threshold\n    param: PM10\n    raise: { for: soon }', /r\.yaml:6 rules\[0\]\.raise\.for: "soon" is not a duration/],
    ['kind: threshold\n    param: PM10', /rules.0 \(x\): a threshold rule needs above:, below: or limit:/],
    ['kind: threshold\n    param: PM10\n    value: mean\n    above: 1', /value: mean needs window/],
    ['kind: silent\n    after: 5m\n    stations: [NOPE]', /station "NOPE" is not configured/],
    ['kind: silent\n    after: 5m\n    notify: pager', /no escalation policy "pager"/],
  ])('%s', (body, error) => {
    const text = `version: 1
rules:
  - id: x
    ${body}
`;
    expect(() => parseRules(text, 'r.yaml', { profiles, stations: ['S1'], policies: ['duty'] })).toThrow(error);
  });
});
