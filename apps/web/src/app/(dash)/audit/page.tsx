import { AuditPage } from '@/features/audit/AuditPage';

export default function Page() {
  return <AuditPage />;
}
