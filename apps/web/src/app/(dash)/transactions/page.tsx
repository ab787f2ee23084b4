import { Suspense } from 'react';
import { TransactionsPage } from '@/features/transactions/TransactionsPage';

export default function Page() {
  return (
    <Suspense>
      <TransactionsPage />
    </Suspense>
  );
}
