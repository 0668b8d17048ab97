import { describe, expect, it } from 'vitest';
import { fitSegments, foldToGsm7, smsSize } from './gsm7.ts';

describe('GSM-7 folding and segment counts', () => {
  it('folds Vietnamese diacritics and our units to GSM-7', () => {
    expect(foldToGsm7('Cảnh báo: Bụi PM2.5 vượt ngưỡng 50 µg/Nm³ ở Đà Nẵng – trạm đo')).toBe('Canh bao: Bui PM2.5 vuot nguong 50 ug/Nm3 o Da Nang - tram do');
    expect(foldToGsm7('Ưu tiên ơi ỹ Ỵ')).toBe('Uu tien oi y Y');
    expect(smsSize(foldToGsm7('Trả lời OK 12 để xác nhận')).encoding).toBe('gsm7');
  });

  it('counts segments: 160/153 septets in GSM-7 (extension characters count 2), 70/67 units in UCS-2', () => {
    expect(smsSize('a'.repeat(160))).toMatchObject({ encoding: 'gsm7', segments: 1 });
    expect(smsSize('a'.repeat(161))).toMatchObject({ encoding: 'gsm7', segments: 2 });
    expect(smsSize('a'.repeat(306))).toMatchObject({ segments: 2 });
    expect(smsSize('a'.repeat(307))).toMatchObject({ segments: 3 });
    expect(smsSize('{'.repeat(80))).toMatchObject({ encoding: 'gsm7', units: 160, segments: 1 });
    expect(smsSize('{'.repeat(81))).toMatchObject({ segments: 2 });
    expect(smsSize('ư'.repeat(70))).toMatchObject({ encoding: 'ucs2', segments: 1 });
    expect(smsSize('ư'.repeat(71))).toMatchObject({ encoding: 'ucs2', segments: 2 });
    expect(smsSize('ư'.repeat(135))).toMatchObject({ segments: 3 });
  });

  it('a Vietnamese alarm text that needs 3 UCS-2 segments fits 1 GSM-7 segment once folded', () => {
    const vi = '[envmon] CẢNH BÁO #12 Trạm không khí Hà Nội: Bụi PM2.5 TB 24 giờ 52.3 µg/Nm³ > 50 QCVN 05:2023 lúc 08:15 01/06. Trả lời OK 12 để xác nhận.';
    expect(smsSize(vi)).toMatchObject({ encoding: 'ucs2', segments: 3 });
    expect(smsSize(foldToGsm7(vi))).toMatchObject({ encoding: 'gsm7', segments: 1 });
  });

  it('shortens to a number of segments', () => {
    const t = fitSegments('x'.repeat(400), 2);
    expect(smsSize(t).segments).toBe(2);
    expect(t.endsWith('...')).toBe(true);
    expect(fitSegments('short', 1)).toBe('short');
  });
});
