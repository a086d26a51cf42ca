// /metrics is not open to the world: a bearer token on the main port, or its own listener, or not
// served at all — decided by the environment as docs/configuration.md says. And tracing, when not
// configured, never loads the OpenTelemetry SDK.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultGatewayConfig, overridesFromEnv, parseEnv, type MetricsExposure } from '../src/config.ts';
import { createGateway, type Gateway } from '../src/server.ts';

const TOKEN = 'metrics-token-0123456789abcdef';

describe('/metrics exposure', () => {
  let gateway: Gateway | null = null;
  afterEach(async () => {
    await gateway?.stop();
    gateway = null;
  });
  const start = async (metrics: MetricsExposure) => {
    gateway = await createGateway(defaultGatewayConfig([], { mode: 'test', metrics }));
    return gateway.url.replace(/\/graphql$/, '/metrics');
  };

  it('on the main port with a token: 401 without it or with another, 200 with it', async () => {
    const url = await start({ disabled: false, token: TOKEN, port: null, host: '127.0.0.1' });
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer short' } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# TYPE switchboard_webhooks_rejected_total counter');
  });

  it('on its own port: the main port answers 404, the metrics port 200 (and still wants the token when one is set)', async () => {
    const main = await start({ disabled: false, token: TOKEN, port: 0, host: '127.0.0.1' });
    expect((await fetch(main, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    const own = gateway!.metricsUrl!;
    expect(own).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await fetch(own)).status).toBe(401);
    expect((await fetch(own, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch(own.replace(/\/metrics$/, '/graphql'))).status).toBe(404);
  });

  it('not served when disabled', async () => {
    const url = await start({ disabled: true, token: null, port: null, host: '127.0.0.1' });
    expect((await fetch(url)).status).toBe(404);
    expect(gateway!.metricsUrl).toBeNull();
  });

  it('from the environment: nothing set → not served; METRICS_TOKEN → main port; METRICS_PORT → own listener on METRICS_HOST', () => {
    expect(overridesFromEnv(parseEnv({})).metrics).toEqual({ disabled: true, token: null, port: null, host: '127.0.0.1' });
    expect(overridesFromEnv(parseEnv({ METRICS_TOKEN: TOKEN })).metrics).toEqual({ disabled: false, token: TOKEN, port: null, host: '127.0.0.1' });
    expect(overridesFromEnv(parseEnv({ METRICS_PORT: '9464', METRICS_HOST: '10.0.0.5' })).metrics).toEqual({
      disabled: false,
      token: null,
      port: 9464,
      host: '10.0.0.5',
    });
    expect(() => parseEnv({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN: at least 16 characters/);
    expect(overridesFromEnv(parseEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).otlpTracesEndpoint).toBe('http://collector:4318/v1/traces');
    expect(overridesFromEnv(parseEnv({})).otlpTracesEndpoint).toBeUndefined();
  });
});

describe('tracing off', () => {
  it('never loads the OpenTelemetry SDK (and the check does see it once tracing starts)', async () => {
    // A fresh process: vitest's own module graph says nothing about what the gateway loads.
    const script = `
      import { createRequire } from 'node:module';
      const { createGateway } = await import(${JSON.stringify(new URL('../src/server.ts', import.meta.url).pathname)});
      const { defaultGatewayConfig } = await import(${JSON.stringify(new URL('../src/config.ts', import.meta.url).pathname)});
      const { startTracing } = await import(${JSON.stringify(new URL('../src/observability/tracing.ts', import.meta.url).pathname)});
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => /@opentelemetry[\\\\/](sdk-trace|exporter|resources|core)/.test(k)).length;
      const gateway = await createGateway(defaultGatewayConfig([], { mode: 'test' }));
      await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
      const off = loaded();
      await gateway.stop();
      await startTracing({ endpoint: 'http://127.0.0.1:9/v1/traces' });
      console.log(JSON.stringify({ off, on: loaded() }));
      process.exit(0);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const [code] = await once(child, 'exit');
    expect(code, err).toBe(0);
    const { off, on } = JSON.parse(out.trim().split('\n').pop()!) as { off: number; on: number };
    expect(off).toBe(0);
    expect(on).toBeGreaterThan(0);
  }, 60_000);
});
