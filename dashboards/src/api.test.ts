import { describe, expect, it } from 'vitest';
import { ApiError, createApi, seriesUrl } from './api.ts';

function fakeFetch(status: number, body: unknown, calls: string[] = []): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    calls.push(String(input));
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof fetch;
}

describe('api client', () => {
  it('builds series URLs: raw leaves out every/agg, buckets include them', () => {
    const q = { station: 'HN 01', param: 'PM2_5', from: 1000, to: 2000, every: 0, agg: 'mean' as const };
    expect(seriesUrl('', q)).toBe('/api/v1/series?station=HN+01&param=PM2_5&from=1000&to=2000');
    expect(seriesUrl('', { ...q, every: 60_000 })).toBe(
      '/api/v1/series?station=HN+01&param=PM2_5&from=1000&to=2000&every=60000&agg=mean',
    );
  });

  it('unwraps the list fields and encodes the station', async () => {
    const calls: string[] = [];
    const api = createApi('', fakeFetch(200, { readings: [{ param: 'PH' }] }, calls));
    expect(await api.latest('a/b')).toEqual([{ param: 'PH' }]);
    expect(await api.latest()).toHaveLength(1);
    expect(calls).toEqual(['/api/v1/latest?station=a%2Fb', '/api/v1/latest']);
  });

  it('turns an HTTP error into an ApiError carrying the server message', async () => {
    const api = createApi('', fakeFetch(400, { error: 'query parameter "param" is required' }));
    const err = await api.stations().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toContain('query parameter "param" is required');
  });

  it('fails loudly on a body without the expected list (wrong route, proxy page)', async () => {
    const api = createApi('', fakeFetch(200, { hello: 1 }));
    await expect(api.parameters()).rejects.toThrow(/expected an array in "parameters"/);
  });
});
