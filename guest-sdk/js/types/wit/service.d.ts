/// <reference path="./interfaces/plughost-platform-config.d.ts" />
/// <reference path="./interfaces/plughost-platform-event-handler.d.ts" />
/// <reference path="./interfaces/plughost-platform-event-types.d.ts" />
/// <reference path="./interfaces/plughost-platform-events.d.ts" />
/// <reference path="./interfaces/plughost-platform-http-handler.d.ts" />
/// <reference path="./interfaces/plughost-platform-http-types.d.ts" />
/// <reference path="./interfaces/plughost-platform-job-handler.d.ts" />
/// <reference path="./interfaces/plughost-platform-job-types.d.ts" />
/// <reference path="./interfaces/plughost-platform-log.d.ts" />
/// <reference path="./interfaces/plughost-platform-mail.d.ts" />
/// <reference path="./interfaces/plughost-platform-orm.d.ts" />
/// <reference path="./interfaces/plughost-platform-queue.d.ts" />
/// <reference path="./interfaces/plughost-platform-storage.d.ts" />
/// <reference path="./interfaces/plughost-platform-types.d.ts" />
/// <reference path="./interfaces/plughost-platform-ws-handler.d.ts" />
/// <reference path="./interfaces/plughost-platform-ws-types.d.ts" />
/// <reference path="./interfaces/plughost-platform-ws.d.ts" />
declare module 'plughost:platform/service@0.1.0' {
  export type * as PlughostPlatformConfig010 from 'plughost:platform/config@0.1.0'; // import plughost:platform/config@0.1.0
  export type * as PlughostPlatformEventTypes010 from 'plughost:platform/event-types@0.1.0'; // import plughost:platform/event-types@0.1.0
  export type * as PlughostPlatformEvents010 from 'plughost:platform/events@0.1.0'; // import plughost:platform/events@0.1.0
  export type * as PlughostPlatformHttpTypes010 from 'plughost:platform/http-types@0.1.0'; // import plughost:platform/http-types@0.1.0
  export type * as PlughostPlatformJobTypes010 from 'plughost:platform/job-types@0.1.0'; // import plughost:platform/job-types@0.1.0
  export type * as PlughostPlatformLog010 from 'plughost:platform/log@0.1.0'; // import plughost:platform/log@0.1.0
  export type * as PlughostPlatformMail010 from 'plughost:platform/mail@0.1.0'; // import plughost:platform/mail@0.1.0
  export type * as PlughostPlatformOrm010 from 'plughost:platform/orm@0.1.0'; // import plughost:platform/orm@0.1.0
  export type * as PlughostPlatformQueue010 from 'plughost:platform/queue@0.1.0'; // import plughost:platform/queue@0.1.0
  export type * as PlughostPlatformStorage010 from 'plughost:platform/storage@0.1.0'; // import plughost:platform/storage@0.1.0
  export type * as PlughostPlatformTypes010 from 'plughost:platform/types@0.1.0'; // import plughost:platform/types@0.1.0
  export type * as PlughostPlatformWsTypes010 from 'plughost:platform/ws-types@0.1.0'; // import plughost:platform/ws-types@0.1.0
  export type * as PlughostPlatformWs010 from 'plughost:platform/ws@0.1.0'; // import plughost:platform/ws@0.1.0
  export * as httpHandler from 'plughost:platform/http-handler@0.1.0'; // export plughost:platform/http-handler@0.1.0
  export * as eventHandler from 'plughost:platform/event-handler@0.1.0'; // export plughost:platform/event-handler@0.1.0
  export * as jobHandler from 'plughost:platform/job-handler@0.1.0'; // export plughost:platform/job-handler@0.1.0
  export * as wsHandler from 'plughost:platform/ws-handler@0.1.0'; // export plughost:platform/ws-handler@0.1.0
}
