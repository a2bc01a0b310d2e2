/**
 * Where a Lambda function finds the cluster's API server without a kubeconfig: the endpoint and
 * CA bundle from EKS DescribeCluster (the token comes from EksTokenSource).
 */
import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';

export type EksApi = Pick<EKSClient, 'send'>;

export interface ClusterEndpoint {
  readonly name: string;
  readonly server: string;
  /** base64 PEM bundle, as in a kubeconfig's certificate-authority-data */
  readonly caData: string;
}

export async function describeClusterEndpoint(eks: EksApi, clusterName: string): Promise<ClusterEndpoint> {
  const out = await eks.send(new DescribeClusterCommand({ name: clusterName }));
  const cluster = out.cluster;
  if (!cluster?.endpoint)
    throw new Error(`EKS cluster ${clusterName} has no endpoint (status ${cluster?.status ?? 'unknown'})`);
  if (!cluster.certificateAuthority?.data)
    throw new Error(`EKS cluster ${clusterName} has no certificate authority data`);
  return { name: clusterName, server: cluster.endpoint, caData: cluster.certificateAuthority.data };
}
