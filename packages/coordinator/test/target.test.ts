// Splitting gRPC branch URLs into dial target and method, per driver (docs/protocol/gozero-driver.md §3.1).
import { describe, expect, it } from 'vitest';
import { splitBranchUrl } from '@dtx/coordinator';

describe('gRPC branch URL splitting', () => {
  it.each([
    ['127.0.0.1:50081/trans.TransSvc/TransOut', '127.0.0.1:50081', '/trans.TransSvc/TransOut'],
    ['etcd://localhost:2379/trans/trans.TransSvc/TransOut', 'etcd://localhost:2379/trans', '/trans.TransSvc/TransOut'],
    ['etcd://localhost:2379/trans.rpc/trans.TransSvc/TransOut', 'etcd://localhost:2379/trans.rpc', '/trans.TransSvc/TransOut'],
    ['discov://h1:2379,h2:2379/trans/trans.TransSvc/TransIn', 'discov://h1:2379,h2:2379/trans', '/trans.TransSvc/TransIn'],
    ['direct:///10.0.0.5:8080,10.0.0.6:8080/pkg.Svc/M', 'direct:///10.0.0.5:8080,10.0.0.6:8080', '/pkg.Svc/M'],
    ['consul://127.0.0.1:8500/trans?wait=14s/trans.TransSvc/TransOut', 'consul://127.0.0.1:8500/trans', '/trans.TransSvc/TransOut'],
    ['etcd://h:2379/Method', 'etcd://h:2379', '/Method'],
  ])('go-zero driver: %s', (url, target, method) => {
    expect(splitBranchUrl(url, 'dtm-driver-gozero')).toEqual({ target, method });
  });

  it('default driver: splits at the first slash and refuses custom schemes like dtm', () => {
    expect(splitBranchUrl('localhost:58081/busi.Busi/TransIn', 'default')).toEqual({ target: 'localhost:58081', method: '/busi.Busi/TransIn' });
    expect(() => splitBranchUrl('localhost:58081', 'default')).toThrow("bad url: 'localhost:58081'. no '/' found");
    expect(() => splitBranchUrl('etcd://h/k/a.B/C', 'default')).toThrow('call dtmdriver.Use() before you use custom scheme');
  });

  it('go-zero driver: a URL with no path is an error (dtm panics), not a crash', () => {
    expect(() => splitBranchUrl('etcd://localhost:2379', 'dtm-driver-gozero')).toThrow(/bad url/);
  });
});
