import { TopicsPage } from '@/features/topics/TopicsPage';

export default function Page() {
  return <TopicsPage />;
}
