// The send route is the one exception to two shared rules: its body may carry a file (a larger body
// limit, app.ts) and it checks the API key inside its own statement (auth/middleware.ts).
export const SEND_MESSAGE_PATH = '/api/send-message';

export const isSendMessage = (req: Request) => req.method === 'POST' && new URL(req.url).pathname === SEND_MESSAGE_PATH;
