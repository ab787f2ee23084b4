import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { Providers } from '@/lib/trpc';
import './globals.css';

// Rendered per request, never prerendered: each page gets the Content-Security-Policy nonce the
// web server puts on the request (server/http.ts), and no page is cached.
export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'dtx dashboard', description: 'Operator dashboard of the dtx transaction coordinator' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
