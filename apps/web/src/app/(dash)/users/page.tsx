import { UsersPage } from '@/features/users/UsersPage';

export default function Page() {
  return <UsersPage />;
}
