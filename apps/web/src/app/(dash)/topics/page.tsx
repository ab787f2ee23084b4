import { TopicsPage } from '@/features/nodes/TopicsPage';

export default function Page() {
  return <TopicsPage />;
}
