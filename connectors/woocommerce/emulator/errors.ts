// WordPress REST error bodies (WP_Error serialized): {code, message, data: {status, params?, details?}},
// and what the emulator answers for injected faults, status by status, as WordPress or the hosting
// in front of it would.
import type { EmulatorReply } from '../../sdk/emulator.ts';

const JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8' };

export function wpErrorBody(status: number, code: string, message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { code, message, data: { status, ...extra } };
}

export function wpError(status: number, code: string, message: string, extra: Record<string, unknown> = {}): EmulatorReply {
  return { status, headers: JSON_HEADERS, body: wpErrorBody(status, code, message, extra) };
}

/** 400 rest_invalid_param, with WordPress's per-parameter messages. */
export function invalidParam(param: string, message: string, detailCode = 'rest_invalid_type'): EmulatorReply {
  return wpError(400, 'rest_invalid_param', `Invalid parameter(s): ${param}`, {
    params: { [param]: message },
    details: { [param]: { code: detailCode, message, data: null } },
  });
}

/** Bodies for injected faults and unmatched routes. */
export function faultBody(status: number, message: string): unknown {
  if (status === 404 && message.startsWith('No route')) return wpErrorBody(404, 'rest_no_route', 'No route was found matching the URL and request method.');
  if (status === 401) return wpErrorBody(401, 'woocommerce_rest_authentication_error', 'Consumer key is invalid.');
  if (status === 403) return wpErrorBody(403, 'woocommerce_rest_cannot_view', 'Sorry, you cannot list resources.');
  if (status === 404) return wpErrorBody(404, 'woocommerce_rest_shop_order_invalid_id', 'Invalid ID.');
  if (status === 500)
    return {
      code: 'internal_server_error',
      message:
        '<p>There has been a critical error on this website.</p><p><a href="https://wordpress.org/documentation/article/faq-troubleshooting/">Learn more about troubleshooting WordPress.</a></p>',
      data: { status: 500 },
      additional_errors: [],
    };
  // 429 and 502-504 come from the hosting (WAF, proxy) in front of WordPress, not from WordPress.
  return `<html><head><title>${status}</title></head><body><h1>${status}</h1><p>${message}</p></body></html>`;
}
