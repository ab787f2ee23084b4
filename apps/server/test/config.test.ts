// Configuration: dtm's keys from defaults, environment and YAML file, and start-up refusal of
// invalid values with a message naming the key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { envName, loadConfig } from '@dtx/config';
import { ROOT } from '../../../tests/support/coordinator.ts';

function yaml(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'dtx-conf-'));
  const file = join(dir, 'conf.yml');
  writeFileSync(file, text);
  return file;
}

describe('configuration', () => {
  it('derives environment variable names from the YAML path like dtm', () => {
    expect(envName(['Store', 'MaxOpenConns'])).toBe('STORE_MAX_OPEN_CONNS');
    expect(envName(['MicroService', 'EndPoint'])).toBe('MICRO_SERVICE_END_POINT');
    expect(envName(['Log', 'RotationConfigJSON'])).toBe('LOG_ROTATION_CONFIG_JSON');
    expect(envName(['HttpPort'])).toBe('HTTP_PORT');
  });

  it('defaults to dtm values and an embedded SQLite file', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({ HttpPort: 36789, GrpcPort: 36790, RetryInterval: 10, TimeoutToFail: 35, RequestTimeout: 3, TransCronInterval: 3 });
    expect(c.Store).toMatchObject({ Driver: 'sqlite', Db: 'data/dtm.sqlite' });
  });

  it('reads the environment, and the YAML file wins over it', () => {
    const env = { STORE_DRIVER: 'mysql', STORE_HOST: 'db', STORE_USER: 'u', RETRY_INTERVAL: '15', HTTP_PORT: '1000' };
    const c = loadConfig({ env, file: yaml('HttpPort: 2000\nStore:\n  Port: 3307\n  Db: other\n') });
    expect(c.HttpPort).toBe(2000);
    expect(c.RetryInterval).toBe(15);
    expect(c.Store).toMatchObject({ Driver: 'mysql', Host: 'db', User: 'u', Port: 3307, Db: 'other' });
    expect(loadConfig({ env: { STORE_DRIVER: 'postgres', STORE_HOST: 'h', STORE_USER: 'u' } }).Store).toMatchObject({ Port: 5432, Db: 'dtm' });
  });

  it.each([
    [{ RETRY_INTERVAL: '5' }, undefined, /RetryInterval \(RETRY_INTERVAL\) should not be less than 10/],
    [{ TIMEOUT_TO_FAIL: '5' }, undefined, /TimeoutToFail \(TIMEOUT_TO_FAIL\) should not be less than RetryInterval/],
    [{ HTTP_PORT: 'abc' }, undefined, /HttpPort \(env HTTP_PORT\) must be an integer/],
    [{ STORE_DRIVER: 'redis' }, undefined, /Store.Driver \(STORE_DRIVER\) 'redis' is not supported/],
    [{ STORE_DRIVER: 'mysql' }, undefined, /Store.Host \(STORE_HOST\) is required/],
    [{ LOG_LEVEL: 'loud' }, undefined, /LogLevel \(LOG_LEVEL\)/],
    [{}, 'Nope: 1\n', /unknown key Nope/],
    [{}, 'Store: 5\n', /Store must be a mapping/],
    [{ MICRO_SERVICE_DRIVER: 'dtm-driver-kratos' }, undefined, /MicroService.Driver \(MICRO_SERVICE_DRIVER\) 'dtm-driver-kratos' is not supported/],
    [{ MICRO_SERVICE_DRIVER: 'dtm-driver-gozero', MICRO_SERVICE_TARGET: 'consul://h:8500/dtm' }, undefined, /unsupported scheme 'consul'/],
    [{ MICRO_SERVICE_DRIVER: 'dtm-driver-gozero', MICRO_SERVICE_TARGET: 'localhost:2379' }, undefined, /must look like etcd:\/\/host:2379\/service/],
  ])('refuses %j %j', (env, file, message) => {
    expect(() => loadConfig({ env, file: file ? yaml(file) : undefined })).toThrow(message);
  });

  it('accepts the go-zero driver with an etcd or discov target', () => {
    const env = {
      MICRO_SERVICE_DRIVER: 'dtm-driver-gozero',
      MICRO_SERVICE_TARGET: 'etcd://h1:2379,h2:2379/dtmservice',
      MICRO_SERVICE_END_POINT: 'h:36790',
    };
    expect(loadConfig({ env }).MicroService).toEqual({
      Driver: 'dtm-driver-gozero',
      Target: 'etcd://h1:2379,h2:2379/dtmservice',
      EndPoint: 'h:36790',
    });
    expect(loadConfig({ env: { ...env, MICRO_SERVICE_TARGET: 'discov://h:2379/dtm' } }).MicroService.Target).toBe('discov://h:2379/dtm');
  });

  it('stops start-up with exit code 2 and the message on invalid configuration', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/server/src/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, RETRY_INTERVAL: '3' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid configuration: RetryInterval (RETRY_INTERVAL) should not be less than 10');
  });
});
