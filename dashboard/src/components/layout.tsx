// The frame around every page: navigation (a sidebar on wide screens, a scrolling bar on phones), the
// tenant and user, whether live updates are flowing, the theme switch and logout.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  BookOpenIcon,
  FlaskConicalIcon,
  KeyRoundIcon,
  LayoutDashboardIcon,
  LogOutIcon,
  MessagesSquareIcon,
  MoonIcon,
  SmartphoneIcon,
  SunIcon,
  WebhookIcon,
} from 'lucide-react';
import type { ReactNode } from 'react';
import { toast } from 'sonner';
import { Link, useLocation } from 'wouter';
import { api, errorMessage } from '@/lib/api';
import { keys } from '@/lib/queries';
import { useRealtime } from '@/lib/realtime';
import { useTheme } from '@/lib/theme';
import type { Me } from '@/lib/types';
import { cn } from '@/lib/utils';
import { Button } from './ui/button';

const nav = [
  { href: '/', label: 'Overview', icon: LayoutDashboardIcon },
  { href: '/connections', label: 'Connections', icon: SmartphoneIcon },
  { href: '/messages', label: 'Messages', icon: MessagesSquareIcon },
  { href: '/webhooks', label: 'Webhook logs', icon: WebhookIcon },
  { href: '/api-keys', label: 'API keys', icon: KeyRoundIcon },
];

export const useSandbox = () =>
  useQuery({ queryKey: keys.sandbox, queryFn: () => api<{ enabled: boolean }>('/sandbox'), staleTime: 5_000 });

function NavLinks({ className, itemClass }: { className?: string; itemClass?: string }) {
  const [location] = useLocation();
  const sandbox = useSandbox();
  const items = sandbox.data?.enabled ? [...nav, { href: '/sandbox', label: 'Sandbox', icon: FlaskConicalIcon }] : nav;
  return (
    <nav aria-label="Main" className={className}>
      {items.map(({ href, label, icon: Icon }) => {
        const active = href === '/' ? location === '/' : location === href || location.startsWith(`${href}/`);
        return (
          <Link
            key={href}
            href={href}
            aria-current={active ? 'page' : undefined}
            className={cn(
              'flex items-center gap-2 rounded-md px-3 py-2 text-sm font-medium whitespace-nowrap transition-colors',
              active ? 'bg-accent text-accent-foreground' : 'text-muted-foreground hover:bg-accent/60 hover:text-foreground',
              itemClass,
            )}
          >
            <Icon className="size-4" />
            {label}
          </Link>
        );
      })}
    </nav>
  );
}

function LiveIndicator() {
  const { state } = useRealtime();
  const text = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span className="text-muted-foreground flex items-center gap-1.5 text-xs" data-testid="realtime-state" data-state={state} title="Live updates">
      <span className={cn('size-2 rounded-full', state === 'live' ? 'bg-emerald-500' : 'animate-pulse bg-amber-500')} />
      {text}
    </span>
  );
}

export function Layout({ me, children }: { me: Me; children: ReactNode }) {
  const { theme, toggle } = useTheme();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();

  async function logout() {
    try {
      await api('/auth/logout', { method: 'POST' });
    } catch (e) {
      toast.error(errorMessage(e));
      return;
    }
    queryClient.clear();
    navigate('/login');
  }

  return (
    <div className="flex min-h-dvh">
      <aside className="bg-card hidden w-60 shrink-0 flex-col border-r md:flex">
        <div className="flex h-14 items-center gap-2 border-b px-4 font-semibold">
          <span className="bg-primary text-primary-foreground flex size-7 items-center justify-center rounded-md text-sm">S</span>
          Switchboard
        </div>
        <NavLinks className="flex flex-1 flex-col gap-1 p-3" />
        <a href="/api/docs" className="text-muted-foreground hover:text-foreground flex items-center gap-2 border-t px-6 py-3 text-sm">
          <BookOpenIcon className="size-4" /> API reference
        </a>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="bg-background/95 sticky top-0 z-30 border-b backdrop-blur">
          <div className="flex h-14 items-center gap-3 px-4">
            <span className="font-semibold md:hidden">Switchboard</span>
            <div className="min-w-0 flex-1 truncate text-sm">
              <span className="font-medium" data-testid="tenant-name">{me.tenant.name}</span>
              {me.user && <span className="text-muted-foreground hidden sm:inline"> · {me.user.email}</span>}
            </div>
            <LiveIndicator />
            <Button variant="ghost" size="icon" onClick={toggle} aria-label={theme === 'dark' ? 'Switch to light mode' : 'Switch to dark mode'}>
              {theme === 'dark' ? <SunIcon /> : <MoonIcon />}
            </Button>
            <Button variant="ghost" size="sm" onClick={logout}>
              <LogOutIcon /> <span className="hidden sm:inline">Log out</span>
            </Button>
          </div>
          <NavLinks className="flex gap-1 overflow-x-auto px-2 pb-2 md:hidden" itemClass="px-2.5 py-1.5" />
        </header>
        <main className="mx-auto w-full max-w-6xl flex-1 p-4 sm:p-6">{children}</main>
      </div>
    </div>
  );
}
