import { NodesPage } from '@/features/nodes/NodesPage';

export default function Page() {
  return <NodesPage />;
}
