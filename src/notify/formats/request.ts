// What one channel needs sent for one message: built by a pure format module, sent by the delivery.
export interface OutgoingRequest { method: 'POST' | 'PUT'; url: string; headers: Record<string, string>; body: string; }
