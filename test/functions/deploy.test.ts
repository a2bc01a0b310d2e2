/**
 * The shipped permissions hold what the functions call and nothing more (the Role itself is
 * proven against a real API server in test/integration/kubernetes).
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string | string[];
}

const policy = (file: string) =>
  JSON.parse(readFileSync(`deploy/${file}`, 'utf8')) as { Statement: Statement[] };
const actions = (file: string) =>
  policy(file)
    .Statement.flatMap((s) => s.Action)
    .sort();

test('IAM: each function gets the calls its adapters make, on named resources only', () => {
  // evaluate: SendMessageBatch, policy memory Get/Put (and the variants' seasons: BatchGet), DescribeCluster
  // (no kubeconfig on Lambda), and observing capacity: DescribeNodegroup finds a node group's Auto
  // Scaling group, which is read; the gateway's counters: Query, and UpdateItem to reset drifted
  // ones (docs/GATEWAY.md)
  expect(actions('iam-evaluate-policy.json')).toEqual([
    'autoscaling:DescribeAutoScalingGroups',
    'dynamodb:BatchGetItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
    'eks:DescribeCluster',
    'eks:DescribeNodegroup',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'sqs:SendMessage',
  ]);
  // apply: the SQS event source, decision state Get/Update (conditional writes, counters), and the
  // node groups' Auto Scaling groups: grow, terminate one chosen instance, remember the ask (tags);
  // and send what it rejects to the dead-letter queue
  expect(actions('iam-apply-policy.json')).toEqual([
    'autoscaling:CreateOrUpdateTags',
    'autoscaling:DescribeAutoScalingGroups',
    'autoscaling:SetDesiredCapacity',
    'autoscaling:TerminateInstanceInAutoScalingGroup',
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'eks:DescribeCluster',
    'eks:DescribeNodegroup',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'sqs:ReceiveMessage',
    'sqs:SendMessage',
  ]);
  // ingest: the gateway's queue (event source), its counters (ADD, the trigger's conditional put),
  // evaluate's asynchronous invoke; no decision queue, no decision state, no cluster
  expect(actions('iam-ingest-policy.json')).toEqual([
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'lambda:InvokeFunction',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'sqs:ReceiveMessage',
  ]);
  for (const file of ['iam-evaluate-policy.json', 'iam-apply-policy.json', 'iam-ingest-policy.json']) {
    for (const s of policy(file).Statement) {
      expect(s.Effect).toBe('Allow');
      for (const r of [s.Resource].flat()) {
        // DescribeAutoScalingGroups takes no resource-level permission: "*" is its only Resource.
        if (s.Action.every((a) => a === 'autoscaling:DescribeAutoScalingGroups')) expect(r).toBe('*');
        else
          expect(r).toMatch(
            /^arn:aws:(sqs|dynamodb|eks|logs|autoscaling|lambda):\$\{Region\}:\$\{AccountId\}:\S+$/,
          );
      }
      for (const a of s.Action) expect(a).not.toContain('*');
    }
  }
});

test('RBAC: evaluate (sva-reader) gets Deployments; apply (sva-scaler) gets and patches their scale, gets them, lists the HPAs and ScaledObjects and patches pods (deletion cost); nothing else', () => {
  const rules = {
    'sva-reader': [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }],
    'sva-scaler': [
      { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list'] },
      { apiGroups: ['keda.sh'], resources: ['scaledobjects'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['patch'] },
    ],
  };
  for (const file of ['rbac.yaml', 'rbac-cluster.yaml']) {
    const docs = parseAllDocuments(readFileSync(`deploy/${file}`, 'utf8')).map((d) => d.toJSON());
    const roles = docs.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole');
    expect(Object.fromEntries(roles.map((r) => [r.metadata.name, r.rules]))).toEqual(rules);
    expect(docs.map((d) => d.kind)).not.toContain('ClusterRoleBinding');
    const bindings = docs.filter((d) => d.kind === 'RoleBinding');
    expect(bindings.map((b) => [b.roleRef.name, b.subjects])).toEqual(
      Object.keys(rules).map((group) => [
        group,
        [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
      ]),
    );
  }
});
