import { Suspense, type ReactNode } from 'react';
import { Shell } from '@/features/shell/Shell';

export default function DashLayout({ children }: { children: ReactNode }) {
  return (
    <Suspense>
      <Shell>{children}</Shell>
    </Suspense>
  );
}
