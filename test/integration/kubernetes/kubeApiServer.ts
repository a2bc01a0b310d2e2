/** etcd and kube-apiserver on loopback: see stack/kubeApiServer.ts. */
export * from '../../../stack/kubeApiServer.js';
