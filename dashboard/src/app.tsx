// Routes. Everything but /login needs a session: an unknown or expired one (any 401) lands on /login,
// which returns to the page the user was on once they are in.
import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { toast } from 'sonner';
import { Redirect, Route, Switch, useLocation } from 'wouter';
import { Layout } from './components/layout';
import { Toaster } from './components/ui/sonner';
import { setUnauthorizedHandler } from './lib/api';
import { useMe } from './lib/queries';
import { RealtimeProvider } from './lib/realtime';
import { ApiKeysPage } from './pages/api-keys';
import { ConnectionsPage } from './pages/connections';
import { LoginPage } from './pages/login';
import { MessagesPage } from './pages/messages';
import { OverviewPage } from './pages/overview';
import { SandboxPage } from './pages/sandbox';
import { WebhookLogsPage } from './pages/webhook-logs';
import { ErrorState, FullPageSpinner } from './components/states';

export function App() {
  const queryClient = useQueryClient();
  const [location, navigate] = useLocation();

  useEffect(() => {
    setUnauthorizedHandler(() => {
      if (window.location.pathname === '/login') return;
      queryClient.clear();
      toast.error('Your session has ended. Please log in again.', { id: 'session-ended' });
      navigate(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
    });
  }, [queryClient, navigate]);

  return (
    <>
      <Toaster />
      <Switch>
        <Route path="/login" component={LoginPage} />
        <Route>
          <Authenticated location={location} />
        </Route>
      </Switch>
    </>
  );
}

function Authenticated({ location }: { location: string }) {
  const me = useMe();
  if (me.isPending) return <FullPageSpinner />;
  if (me.isError) return <ErrorPage error={me.error} onRetry={() => void me.refetch()} />;
  if (!me.data) return <Redirect to={`/login?next=${encodeURIComponent(location)}`} />;
  return (
    <RealtimeProvider>
      <Layout me={me.data}>
        <Switch>
          <Route path="/" component={OverviewPage} />
          <Route path="/connections" component={ConnectionsPage} />
          <Route path="/messages/:connectionId?/:chatId?" component={MessagesPage} />
          <Route path="/webhooks/:connectionId?" component={WebhookLogsPage} />
          <Route path="/api-keys" component={ApiKeysPage} />
          <Route path="/sandbox" component={SandboxPage} />
          <Route>
            <NotFound />
          </Route>
        </Switch>
      </Layout>
    </RealtimeProvider>
  );
}

function NotFound() {
  return (
    <div className="py-24 text-center">
      <h1 className="text-2xl font-semibold">Page not found</h1>
      <p className="text-muted-foreground mt-2">There is nothing at this address.</p>
    </div>
  );
}


function ErrorPage({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  return (
    <div className="mx-auto max-w-lg p-6 pt-24">
      <ErrorState error={error} onRetry={onRetry} />
    </div>
  );
}
