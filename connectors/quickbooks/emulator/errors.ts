// QuickBooks' error bodies: the `Fault` envelope for the Accounting API ({Fault:{Error:[{Message,
// Detail,code}],type},time}) and the API gateway's lower-case variant for a refused token
// ({fault:{error:[{message,detail,code}],type:"AUTHENTICATION"}}), as live sandboxes answer 401s.

export const faultTime = (): string => new Date().toISOString().replace('Z', '-00:00');

export function fault(type: string, message: string, detail: string, code: string): unknown {
  return { Fault: { Error: [{ Message: message, Detail: detail, code, element: '' }], type }, time: faultTime() };
}

export function authenticationFault(detail: string): unknown {
  return {
    fault: { error: [{ message: 'message=AuthenticationFailed; errorCode=003200; statusCode=401', detail, code: '3200' }], type: 'AUTHENTICATION' },
    time: faultTime(),
  };
}

/** The body QuickBooks sends with `status` (injected faults and refusals). */
export function faultBody(status: number, message: string): unknown {
  if (status === 401) return authenticationFault(`Token invalid: ${message}`);
  if (status === 403) return fault('AuthorizationFault', 'message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403', message, '3100');
  if (status === 429) return fault('ThrottleExceeded', 'message=ThrottleExceeded; errorCode=003001; statusCode=429', 'The request limit was reached.', '3001');
  if (status === 400) return fault('ValidationFault', 'A validation error occurred', message, '2010');
  if (status === 404) return fault('ValidationFault', 'Unsupported Operation', message, '500');
  return fault('SystemFault', 'An application error has occurred while processing your request', `System Failure Error: ${message}`, '10000');
}

export const objectNotFound = (entity: string, id: string): unknown =>
  fault(
    'ValidationFault',
    'Object Not Found',
    `Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees. (${entity} ${id})`,
    '610',
  );
