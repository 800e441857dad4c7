// Module coipc: messaging between processes on one machine through shared memory.
//
// The core module. It never includes Asio; the coroutine layer is module coipc.asio.
export module coipc;
export import :error;
export import :fault;
export import :platform;
export import :segment;
export import :wait;
export import :ring;
export import :endpoint;
export import :message;
export import :zero_copy;
export import :async_port;
export import :channel;
