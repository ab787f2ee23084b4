import { DetailPage } from '@/features/transactions/DetailPage';

export default async function Page({ params }: { params: Promise<{ gid: string }> }) {
  const { gid } = await params;
  return <DetailPage gid={decodeURIComponent(gid)} />;
}
